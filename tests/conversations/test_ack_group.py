"""Events that a web process's threads acknowledge at the same moment go to PostgreSQL as one statement.

Each test holds the first ack's insert behind an uncommitted row with the same webhookEventId (as a
slow commit would hold it), lets other acks arrive meanwhile, then lets it go. Rows written by one
statement share its transaction id (``xmin``).
"""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from conversations import services
from conversations.models import WebhookEvent, WebhookEventConflict, WebhookEventOutbox
from conversations.services import webhook_event_store
from tests.waiting import wait_for

from .events import text_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.CONVERSATION_DISPATCH = "outbox"
    settings.CONVERSATION_EVENTS_PER_INSERT = 8


class Ack(threading.Thread):
    """One ack's store, on a thread (and so a database connection) of its own, as under gunicorn."""

    def __init__(self, event: dict, *, commit_after: threading.Event | None = None):
        super().__init__(daemon=True)
        self.event, self.commit_after = event, commit_after
        self.stored = self.error = None
        self.done = threading.Event()

    def run(self):
        try:
            if self.commit_after is None:
                self.stored = webhook_event_store(event=self.event, destination="Ubot", correlation_id=None)
            else:  # the holder: its row stays uncommitted until told
                with transaction.atomic():
                    self.stored = webhook_event_store(event=self.event, destination="Ubot", correlation_id=None)
                    self.done.set()
                    assert self.commit_after.wait(10)
        except Exception as exc:  # handed to the test, which checks it
            self.error = exc
        finally:
            self.done.set()
            connections.close_all()


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def acknowledged_while_one_is_held(*events: dict, grouped: bool = True) -> tuple[Ack, list[Ack]]:
    """The first ack's insert waits on another transaction while ``events`` are acknowledged; then it goes on."""
    held = text_event("held")
    release = threading.Event()
    holder = Ack(held, commit_after=release)
    holder.start()
    assert holder.done.wait(10)
    first = Ack(held)  # a redelivery of the held event: its insert waits for the holder's commit
    first.start()
    wait_for(lambda: backends_waiting_for_a_lock() == 1)
    others = [Ack(event) for event in events]
    for ack in others:
        ack.start()
    if grouped:
        wait_for(lambda: services._insert_group.waiting == len(events))
    else:
        for ack in others:
            assert ack.done.wait(10)
    release.set()
    for ack in (holder, first, *others):
        ack.join(10)
        assert not ack.is_alive()
    assert (holder.error, first.error) == (None, None)
    return first, others


def transactions_of(events: list[dict]) -> list[str]:
    table = WebhookEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT webhook_event_id, xmin::text FROM {table} WHERE webhook_event_id = ANY(%s)",
            [[e["webhookEventId"] for e in events]],
        )
        by_id = dict(cursor.fetchall())
    return [by_id[e["webhookEventId"]] for e in events]


def test_it_stores_events_acknowledged_while_another_is_written_in_one_transaction():
    events = [text_event(f"hello {i}") for i in range(3)]

    first, others = acknowledged_while_one_is_held(*events)

    assert len(set(transactions_of(events))) == 1
    assert first.stored.created is False  # the held event's redelivery: a repeat
    assert [(a.error, a.stored.created, a.stored.queued) for a in others] == [(None, True, True)] * 3
    stored = {a.stored.id for a in others}
    assert stored == set(
        WebhookEvent.objects.filter(webhook_event_id__in=[e["webhookEventId"] for e in events]).values_list(
            "id", flat=True
        )
    )
    assert stored <= set(WebhookEventOutbox.objects.values_list("event_id", flat=True))


def test_it_tells_each_event_of_a_statement_its_own_outcome():
    known = text_event("known")
    webhook_event_store(event=known, destination="Ubot", correlation_id=None)
    conflicting = {**text_event("another body"), "webhookEventId": known["webhookEventId"]}
    repeat, new = dict(known), text_event("new")

    _, (conflict_ack, repeat_ack, new_ack) = acknowledged_while_one_is_held(conflicting, repeat, new)

    assert (conflict_ack.error, conflict_ack.stored.created, conflict_ack.stored.queued) == (None, False, False)
    assert (repeat_ack.error, repeat_ack.stored.created, repeat_ack.stored.queued) == (None, False, False)
    assert (new_ack.error, new_ack.stored.created, new_ack.stored.queued) == (None, True, True)
    stored = WebhookEvent.objects.get(webhook_event_id=known["webhookEventId"])
    assert stored.deliveries == 2
    assert stored.payload["message"]["text"] == "known"
    assert WebhookEventConflict.objects.get(event=stored).deliveries == 1


def test_it_fails_only_the_event_that_cannot_be_stored():
    good = [text_event("fine"), text_event("also fine")]
    bad = text_event("a NUL \x00 PostgreSQL cannot hold")

    _, acks = acknowledged_while_one_is_held(good[0], bad, good[1])

    assert isinstance(acks[1].error, DatabaseError)
    assert [(a.error, a.stored.created) for a in (acks[0], acks[2])] == [(None, True), (None, True)]
    # The statement of all three failed, so the two good events were written again, each alone.
    assert len(set(transactions_of(good))) == 2
    assert not WebhookEvent.objects.filter(webhook_event_id=bad["webhookEventId"]).exists()


def test_it_writes_each_event_alone_when_turned_down_to_one(settings):
    settings.CONVERSATION_EVENTS_PER_INSERT = 1
    events = [text_event(f"alone {i}") for i in range(3)]

    # Each ack is stored while the held one still waits: none queues behind it.
    _, others = acknowledged_while_one_is_held(*events, grouped=False)

    assert len(set(transactions_of(events))) == 3
    assert [(a.error, a.stored.created) for a in others] == [(None, True)] * 3
