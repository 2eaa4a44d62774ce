"""The advisory lock a runner holds on an event never outlives the run, even when it cannot be released."""

from __future__ import annotations

import logging
import time

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations import processing
from conversations.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

EVENT_ID = 424_242


def other_session():
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    )


def lock_is_free(event_id: int, timeout: float = 5.0) -> bool:
    """Whether another session can take the event's lock (a closed session's locks go when its backend exits)."""
    deadline = time.monotonic() + timeout
    with other_session() as session:
        while True:
            if session.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [processing._LOCK_NAMESPACE, event_id]
            ).fetchone()[0]:
                session.execute("SELECT pg_advisory_unlock(%s, %s)", [processing._LOCK_NAMESPACE, event_id])
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def backend_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    with other_session() as session:
        while session.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
    return True


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def unlock_failures(caplog) -> list[dict]:
    return [
        r.msg
        for r in caplog.records
        if isinstance(r.msg, dict) and r.msg.get("event") == "line_webhook_event_unlock_failed"
    ]


def test_it_releases_the_lock_and_keeps_the_session_after_a_run():
    pid = backend_pid()

    with processing._owned(EVENT_ID):
        assert not lock_is_free(EVENT_ID, timeout=0)

    assert lock_is_free(EVENT_ID, timeout=0)
    assert backend_pid() == pid


def test_it_backs_a_second_runner_off_while_the_lock_is_held():
    with other_session() as session:
        session.execute("SELECT pg_advisory_lock(%s, %s)", [processing._LOCK_NAMESPACE, EVENT_ID])
        with pytest.raises(processing.EventBusyError), processing._owned(EVENT_ID):
            pass


def test_it_lets_a_lock_it_cannot_release_die_with_its_session(caplog):
    pid = backend_pid()

    # Inside an aborted transaction the unlock itself fails; a session-level lock survives
    # the rollback, so only the end of the session frees it.
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(DatabaseError),
        transaction.atomic(),
        processing._owned(EVENT_ID),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")

    assert lock_is_free(EVENT_ID)
    assert backend_gone(pid)
    [logged] = unlock_failures(caplog)
    assert logged["event_id"] == EVENT_ID and logged["error"]
    assert backend_pid() != pid  # the next query gets a new session


def test_it_ends_the_session_too_when_the_lock_is_found_released_already(caplog):
    pid = backend_pid()

    with caplog.at_level(logging.WARNING), processing._owned(EVENT_ID), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock_all()")

    assert backend_gone(pid)
    [logged] = unlock_failures(caplog)
    assert logged["event_id"] == EVENT_ID and logged["error"] is None


def test_it_releases_the_lock_in_the_statement_that_records_the_answer_sent(post_events, events, line, llm):
    pid = backend_pid()

    with CaptureQueriesContext(connection) as ctx:
        post_events(events.text("One round trip less"))

    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REPLIED
    unlocks = [q["sql"] for q in ctx.captured_queries if "pg_advisory_unlock" in q["sql"]]
    assert len(unlocks) == 1 and unlocks[0].startswith("WITH updated AS (UPDATE")
    assert lock_is_free(event.pk, timeout=0)
    assert backend_pid() == pid


def test_it_releases_the_lock_on_its_own_when_the_run_sends_nothing(post_events, events, line, llm):
    pid = backend_pid()

    post_events(events.of("unfollow"))

    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED and event.reply_state == WebhookEvent.ReplyState.NONE
    assert lock_is_free(event.pk, timeout=0)
    assert backend_pid() == pid
