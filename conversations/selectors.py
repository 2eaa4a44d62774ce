"""Reads that are more than a one-line query."""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import Count, F, Min, Sum
from django.utils import timezone

from conversations.models import Conversation, LineUser, Message, WebhookEvent, WebhookEventOutbox

_REBUILD_TURNS = 30


def recent_turns(
    *, conversation_id: int, before_message_id: int | None = None, limit: int = _REBUILD_TURNS
) -> list[tuple[str, str]]:
    """The last turns of a conversation, oldest first, to rebuild a context that Redis lost."""
    messages = Message.objects.filter(conversation_id=conversation_id)
    if before_message_id is not None:
        messages = messages.filter(id__lt=before_message_id)
    rows = list(messages.exclude(content="").order_by("-created_at", "-id").values_list("role", "content")[:limit])
    rows.reverse()
    return rows


def tokens_used_today(*, line_user: LineUser) -> int:
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    used = Message.objects.filter(line_user=line_user, created_at__gte=start).aggregate(
        total=Sum(F("prompt_tokens") + F("completion_tokens"))
    )["total"]
    return used or 0


def open_conversation(*, source_type: str, source_id: str) -> Conversation | None:
    return Conversation.objects.filter(source_type=source_type, source_id=source_id, ended_at__isnull=True).first()


def transcript(*, conversation_id: int) -> list[Message]:
    return list(Message.objects.filter(conversation_id=conversation_id).select_related("line_user"))


def webhook_backlog(*, now: datetime | None = None) -> dict[str, float]:
    """How many events wait, and how long the oldest has: for the relay to publish them, and to be answered.

    Zero seconds when none waits. Read once a minute for alert rules (``monitoring.webhook_backlog``).
    """
    now = now or timezone.now()
    waiting = WebhookEvent.objects.filter(pk__in=WebhookEventOutbox.objects.values("event_id")).aggregate(
        count=Count("id"), oldest=Min("received_at")
    )
    # Read through the index of unfinished events, which holds only these.
    unfinished = WebhookEvent.objects.filter(
        status__in=(WebhookEvent.Status.RECEIVED, WebhookEvent.Status.PROCESSING)
    ).aggregate(count=Count("id"), oldest=Min("received_at"))

    def age(oldest: datetime | None) -> float:
        return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0

    return {
        "webhook_events_unpublished": float(waiting["count"]),
        "webhook_events_unpublished_oldest_seconds": age(waiting["oldest"]),
        "webhook_events_unfinished": float(unfinished["count"]),
        "webhook_events_unfinished_oldest_seconds": age(unfinished["oldest"]),
    }
