"""Reads that are more than a one-line query."""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import F, Sum
from django.utils import timezone

from conversations.models import Conversation, LineUser, Message

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
