"""The outbox relay (``CONVERSATION_DISPATCH = "outbox"``): stored events to the workers, in batches.

Under the outbox the web tier's ack is one INSERT; this relay claims the stored events nobody has
published (``queued_at`` empty, a partial index holds just those), publishes them to Celery and
marks them, in one transaction: a publish that fails rolls the claim back and the next round
tries again. A publish whose commit then fails is published again later, which processing,
being idempotent, absorbs. ``SKIP LOCKED`` lets several relays share the work.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conversations.models import WebhookEvent
from conversations.tasks import webhook_events_enqueue


def webhook_events_relay(*, limit: int = 500) -> int:
    """Publishes up to ``limit`` stored, unpublished events, oldest first; returns how many."""
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
