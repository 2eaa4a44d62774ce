"""The outbox relay (``CONVERSATION_DISPATCH = "outbox"``): stored events to the workers, in batches.

Under the outbox the web tier's ack is one statement: it stores the event and adds it to the outbox
table (:class:`~conversations.models.WebhookEventOutbox`). This relay takes entries off that table
and publishes their events to Celery. ``SKIP LOCKED`` lets several relays share the work, and
processing is idempotent, so an event published twice costs a little work and nothing else.

On PostgreSQL a round is one statement, whether it finds events or not: it deletes a batch of
entries and returns those whose events still wait to be answered. A publish that fails puts the
batch back for the next round; a relay that dies between the two leaves the batch to the sweep for
stalled events (``requeue_stalled_webhook_events``), which re-queues whatever is not final after
``CONVERSATION_STALLED_AFTER_SECONDS``.

Between rounds the relay waits as :class:`RelayPace` says: briefly while events come, longer once
they have stopped coming. While the workers are behind it packs several events into one message
(:mod:`conversations.packing`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.db import connection, transaction

from conversations.models import WebhookEvent, WebhookEventOutbox
from conversations.packing import Packing
from conversations.tasks import webhook_events_enqueue


def webhook_events_relay(*, limit: int = 500, packing: Packing | None = None) -> int:
    """Publishes up to ``limit`` events from the outbox, oldest first; returns how many.

    ``packing`` (the relay's, kept across rounds) may put several events in one message while the workers
    are behind.
    """
    if connection.vendor != "postgresql":
        return _relay_in_transaction(limit, packing)
    ids = _claim(limit)
    if not ids:
        return 0
    try:
        webhook_events_enqueue(event_ids=ids, packing=packing)
    except Exception:
        WebhookEventOutbox.objects.bulk_create([WebhookEventOutbox(event_id=pk) for pk in ids], ignore_conflicts=True)
        raise
    return len(ids)


@dataclass
class RelayPace:
    """How long the relay waits before its next round.

    ``busy`` while events come. Once none has come for ``quiet_after`` seconds each empty round doubles
    the wait, up to ``quiet``: a round is one statement, but on a machine at rest each wake-up finds
    its caches cold and costs about ten times its work under load (docs/PERFORMANCE.md), and fifty a
    second kept an idle relay at several per cent of a core and its database answering all the while.
    The first event after a quiet spell waits at most ``quiet`` longer.
    """

    busy: float
    quiet: float
    quiet_after: float = 1.0
    _last_event_at: float = field(default=float("-inf"), init=False)
    _wait: float = field(default=0.0, init=False)

    def wait_after(self, *, published: int, now: float) -> float:
        """The wait before the next round, given what this one published and when it ended (monotonic)."""
        if published:
            self._last_event_at = now
        if now - self._last_event_at < self.quiet_after:
            self._wait = self.busy
        else:
            self._wait = min(max(self._wait, self.busy) * 2, max(self.quiet, self.busy))
        return self._wait


def _claim(limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_claim_statement(), [limit, WebhookEvent.Status.RECEIVED])
        return sorted(row[0] for row in cursor.fetchall())


@functools.cache
def _claim_statement() -> str:
    quote = connection.ops.quote_name
    outbox, entry = quote(WebhookEventOutbox._meta.db_table), quote(WebhookEventOutbox._meta.pk.column)
    meta = WebhookEvent._meta
    table, pk, status = quote(meta.db_table), quote(meta.pk.column), quote(meta.get_field("status").column)
    return (
        # Names from the models, values bound (bandit B608, ruff S608).
        f"WITH claimed AS (DELETE FROM {outbox} WHERE {entry} IN ("  # noqa: S608  # nosec B608
        f"SELECT {entry} FROM {outbox} ORDER BY {entry} LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {entry}) "
        # An event answered meanwhile (the stalled sweep got to it first) or deleted is not published. Each
        # is looked up by its key (OFFSET 0 keeps the planner from joining through the unfinished events).
        f"SELECT claimed.{entry} FROM claimed, LATERAL (SELECT 1 FROM {table} "
        f"WHERE {table}.{pk} = claimed.{entry} AND {table}.{status} = %s OFFSET 0) waiting"
    )


def _relay_in_transaction(limit: int, packing: Packing | None) -> int:
    with transaction.atomic():
        claimed = list(
            WebhookEventOutbox.objects.select_for_update(skip_locked=True)
            .order_by("event_id")
            .values_list("event_id", flat=True)[:limit]
        )
        if not claimed:
            return 0
        WebhookEventOutbox.objects.filter(event_id__in=claimed).delete()
        ids = list(
            WebhookEvent.objects.filter(pk__in=claimed, status=WebhookEvent.Status.RECEIVED)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if ids:  # a failed publish rolls the deletion back
            webhook_events_enqueue(event_ids=ids, packing=packing)
    return len(ids)
