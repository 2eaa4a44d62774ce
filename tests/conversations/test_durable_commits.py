"""A run's writes commit without waiting for the disk, until the one before its answer leaves for LINE.

That write's commit waits for every earlier one of the session (PostgreSQL flushes its log in order), so a
database crash can cost a run its writes, never a message twice. Each run gives its session back the setting
it had; ``local`` stands for whatever a deployment chose.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from conversations import processing
from conversations.models import WebhookEvent
from conversations.processing import webhook_event_process
from core.errors import LineApiError
from tests.doubles import answer_to, delivered_texts

from .events import USER

pytestmark = pytest.mark.django_db(transaction=True)

CHOSEN = "local"


@pytest.fixture
def chosen_setting():
    with connection.cursor() as cursor:
        cursor.execute(f"SET synchronous_commit = {CHOSEN}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET synchronous_commit")


def current_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.fixture
def commits():
    """Each statement the test's connection runs, with the synchronous_commit its commit went by."""
    seen: list[tuple[str, str]] = []

    def record(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        # The setting right after the statement is the one its commit read.
        setting = context["connection"].connection.execute("SHOW synchronous_commit").fetchone()[0]
        seen.append((sql, setting))
        return result

    with connection.execute_wrapper(record):
        yield seen


def test_it_relaxes_the_runs_commits_until_the_answer_is_about_to_leave(stored, chosen_setting, commits, line):
    (event,) = stored("Durable enough?")
    del commits[:]

    assert webhook_event_process(event_id=event.pk) == WebhookEvent.Status.REPLIED

    assert delivered_texts(line, user_id=USER) == [answer_to("Durable enough?")]
    claim = next(i for i, (sql, _) in enumerate(commits) if "pg_try_advisory_lock" in sql)
    move = next(i for i, (sql, _) in enumerate(commits) if sql.startswith("WITH moved AS"))
    relaxed = [setting for _, setting in commits[claim:move]]
    # The claim, the user, the conversation, the answer and its messages: none waits for the disk.
    assert len(relaxed) >= 5 and set(relaxed) == {"off"}
    assert commits[move][1] == CHOSEN
    assert all(setting == CHOSEN for _, setting in commits[move:])
    assert current_setting() == CHOSEN


def test_it_gives_the_session_its_setting_back_when_a_run_sends_nothing(post_events, events, chosen_setting, settings):
    settings.CONVERSATION_DISPATCH = "outbox"
    post_events(events.of("unfollow"))
    event = WebhookEvent.objects.get()

    assert webhook_event_process(event_id=event.pk) == WebhookEvent.Status.IGNORED
    assert current_setting() == CHOSEN


def test_it_gives_the_session_its_setting_back_when_line_fails(stored, chosen_setting, line, settings):
    settings.LINE_API_ATTEMPTS = 1
    line.control.set_faults(
        errors=[
            {"endpoint": "replyMessage", "status": 500, "rate": 1.0},
            {"endpoint": "pushMessage", "status": 500, "rate": 1.0},
        ]
    )
    (event,) = stored("LINE is down")

    with pytest.raises(LineApiError):
        webhook_event_process(event_id=event.pk)

    event.refresh_from_db()
    assert event.reply_state == WebhookEvent.ReplyState.SENDING_PUSH
    assert current_setting() == CHOSEN


def test_it_leaves_the_session_as_it_was_when_another_run_owns_the_event(stored, chosen_setting):
    (event,) = stored("Busy")
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [processing._LOCK_NAMESPACE, event.pk])
        with pytest.raises(processing.EventBusyError):
            webhook_event_process(event_id=event.pk)

    assert current_setting() == CHOSEN


def test_it_makes_every_commit_wait_when_relaxed_commits_are_off(stored, chosen_setting, commits, line, settings):
    settings.CONVERSATION_RELAXED_COMMITS = False
    (event,) = stored("Every write durable")
    del commits[:]

    assert webhook_event_process(event_id=event.pk) == WebhookEvent.Status.REPLIED

    assert len(commits) >= 7 and {setting for _, setting in commits} == {CHOSEN}
