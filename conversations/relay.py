"""The outbox relay (``CONVERSATION_DISPATCH = "outbox"``): stored events to the workers, in batches.

Under the outbox the web tier's ack is one INSERT; this relay claims the stored events nobody has
published (``queued_at`` empty, a partial index holds just those) and publishes them to Celery.
``SKIP LOCKED`` lets several relays share the work, and processing is idempotent, so an event
published twice costs a little work and nothing else.

On PostgreSQL a round is one statement, whether it finds events or not: the claim marks the
batch and returns it. A publish that fails un-marks the batch for the next round; a relay that
dies between the claim and the publish leaves the batch to the sweep for stalled events
(``requeue_stalled_webhook_events``), which re-queues whatever is not final after
``CONVERSATION_STALLED_AFTER_SECONDS``.
"""

from __future__ import annotations

import functools

from django.db import connection, transaction
from django.utils import timezone

from conversations.models import WebhookEvent
from conversations.tasks import webhook_events_enqueue


def webhook_events_relay(*, limit: int = 500) -> int:
    """Publishes up to ``limit`` stored, unpublished events, oldest first; returns how many."""
    if connection.vendor != "postgresql":
        return _relay_in_transaction(limit)
    ids = _claim(limit)
    if not ids:
        return 0
    try:
        webhook_events_enqueue(event_ids=ids)
    except Exception:
        WebhookEvent.objects.filter(pk__in=ids).update(queued_at=None)
        raise
    return len(ids)


def _claim(limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_claim_statement(), [timezone.now(), WebhookEvent.Status.RECEIVED, limit])
        return sorted(row[0] for row in cursor.fetchall())


@functools.cache
def _claim_statement() -> str:
    meta = WebhookEvent._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    status, queued_at = quote(meta.get_field("status").column), quote(meta.get_field("queued_at").column)
    return (
        # Names from the model, values bound (bandit B608, ruff S608).
        f"UPDATE {table} SET {queued_at} = %s WHERE {pk} IN ("  # noqa: S608  # nosec B608
        f"SELECT {pk} FROM {table} WHERE {status} = %s AND {queued_at} IS NULL "
        f"ORDER BY {pk} LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {pk}"
    )


def _relay_in_transaction(limit: int) -> int:
    with transaction.atomic():
        ids = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookEvent.Status.RECEIVED, queued_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookEvent.objects.filter(pk__in=ids).update(queued_at=timezone.now())
            webhook_events_enqueue(event_ids=ids)
    return len(ids)
