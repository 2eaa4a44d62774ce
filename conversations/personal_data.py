"""What conversations holds on a LINE user: the user row, chats, messages, webhook events, Redis context.

Registered with :mod:`core.personal_data` from ``ConversationsConfig.ready``. The user row itself is
not deleted on erasure but made a tombstone (ids and profile replaced): campaign recipients and
events keep pointing at it, so the counts they make up do not change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from conversations.context import context_stored
from conversations.models import Conversation, LineUser, Message, WebhookEvent, WebhookEventConflict
from core import config, personal_data
from core.redis import get_redis

_ERASED_PROFILE = {
    "display_name": "",
    "picture_url": "",
    "status_message": "",
    "language": "",
    "language_chosen": False,
    "tags": [],
    "timezone": "",
}


def _own_conversations(subject: personal_data.Subject):
    return Conversation.objects.filter(
        Q(source_type=Conversation.SourceType.USER) & (Q(source_id=subject.line_user_id) | Q(user_id=subject.pk))
    )


def _own_events(subject: personal_data.Subject):
    return WebhookEvent.objects.filter(Q(line_user_id=subject.line_user_id) | Q(source_id=subject.line_user_id))


def _touched_conversation_ids(subject: personal_data.Subject) -> set[int]:
    """Every conversation whose context may hold the user's words: their own chats and groups they spoke in."""
    ids = set(_own_conversations(subject).values_list("pk", flat=True))
    ids |= set(Message.objects.filter(line_user_id=subject.pk).values_list("conversation_id", flat=True))
    return ids


def _message_row(message: Message) -> dict:
    return {
        "conversation": message.conversation_id,
        "role": message.role,
        "content": message.content,
        "media_ref": message.media_ref,
        "created_at": message.created_at.isoformat(),
    }


def export(subject: personal_data.Subject) -> dict:
    user = LineUser.objects.get(pk=subject.pk)
    own = _own_conversations(subject)
    messages = Message.objects.filter(Q(conversation__in=own) | Q(line_user_id=subject.pk)).order_by("created_at", "id")
    events = _own_events(subject).order_by("received_at", "id")
    return {
        "line_user": {
            "line_user_id": user.line_user_id,
            "display_name": user.display_name,
            "picture_url": user.picture_url,
            "status_message": user.status_message,
            "language": user.language,
            "language_chosen": user.language_chosen,
            "status": user.status,
            "first_seen_at": user.first_seen_at.isoformat(),
            "last_seen_at": user.last_seen_at.isoformat(),
            "followed_at": user.followed_at.isoformat() if user.followed_at else None,
            "opted_out_at": user.opted_out_at.isoformat() if user.opted_out_at else None,
            "tags": user.tags,
            "timezone": user.timezone,
        },
        "conversations": [
            {
                "id": c.pk,
                "source_type": c.source_type,
                "started_at": c.started_at.isoformat(),
                "ended_at": c.ended_at.isoformat() if c.ended_at else None,
            }
            for c in own.order_by("started_at")
        ],
        "messages": [_message_row(m) for m in messages.iterator()],
        "webhook_events": [
            {
                "webhook_event_id": e.webhook_event_id,
                "event_type": e.event_type,
                "received_at": e.received_at.isoformat(),
                "payload": e.payload,
            }
            for e in events.iterator()
        ],
        "context": [
            {"conversation": cid, "turns": [[t.role, t.content] for t in ctx.turns], "summary": ctx.summary}
            for cid in sorted(_touched_conversation_ids(subject))
            if (ctx := context_stored(cid)) is not None
        ],
    }


def _forget_redis(subject: personal_data.Subject, conversation_ids: set[int]) -> int:
    redis = get_redis()
    for conversation_id in conversation_ids:
        redis.erase_matching(f"conv:ctx:{conversation_id}")
        redis.erase_matching(f"conv:ctx:{conversation_id}:__written_at")
    # Flood counters carry the LINE id in their names: they go with no deletion marker left behind.
    redis.erase_matching(f"conv:flood:{subject.line_user_id}:*")
    return len(conversation_ids)


def erase(subject: personal_data.Subject) -> dict[str, int]:
    needle, replacement = subject.line_user_id, subject.replacement
    conversation_ids = _touched_conversation_ids(subject)
    own = _own_conversations(subject)
    counts = {
        "redis_contexts": _forget_redis(subject, conversation_ids),
        # Messages cascade with their conversation; what the user said in groups goes on its own.
        "messages": Message.objects.filter(Q(conversation__in=own) | Q(line_user_id=subject.pk)).delete()[0],
        "conversations": own.delete()[0],
        "webhook_events": _own_events(subject).delete()[0],
    }
    # Group chats the user opened stay (they are the group's), without the link to the user.
    Conversation.objects.filter(user_id=subject.pk).update(user=None)
    # Other people's events and messages that name the user (mentions, quotes) keep their row, not the id.
    counts["webhook_events_redacted"] = personal_data.redact(
        WebhookEvent.objects.all(), ["payload", "reply_messages", "error", "source_id"], needle, replacement
    )
    counts["webhook_conflicts_redacted"] = personal_data.redact(
        WebhookEventConflict.objects.all(), ["payload"], needle, replacement
    )
    counts["messages_redacted"] = personal_data.redact(
        Message.objects.all(), ["content", "media_ref"], needle, replacement
    )
    return counts


def erase_user_row(subject: personal_data.Subject) -> dict[str, int]:
    """The tombstone: the row stays for the aggregates pointing at it, nothing in it says who it was."""
    updated = LineUser.objects.filter(pk=subject.pk).update(
        line_user_id=subject.replacement,
        status=LineUser.Status.INACTIVE,
        opted_out_at=timezone.now(),
        **_ERASED_PROFILE,
    )
    return {"line_users": updated}


# --- retention ------------------------------------------------------------------------------------
def _cutoff(now: datetime, key: str) -> datetime | None:
    days = config.get(key)
    return now - timedelta(days=days) if days > 0 else None


def retain(now: datetime) -> dict[str, int]:
    """Blanks message texts and webhook payloads older than their retention periods; the rows stay counted."""
    counts = {"message_texts": 0, "webhook_payloads": 0}
    if (cutoff := _cutoff(now, "retention.message_text_days")) is not None:
        old = Message.objects.filter(created_at__lt=cutoff).exclude(content="", media_ref="")
        counts["message_texts"] = personal_data.update_in_batches(old, {"content": "", "media_ref": ""})
    if (cutoff := _cutoff(now, "retention.webhook_payload_days")) is not None:
        old = WebhookEvent.objects.filter(received_at__lt=cutoff, status__in=WebhookEvent.FINAL_STATUSES).exclude(
            payload={"expired": True}
        )
        counts["webhook_payloads"] = personal_data.update_in_batches(
            old, {"payload": {"expired": True}, "reply_messages": None, "reply_token": ""}
        )
        personal_data.update_in_batches(
            WebhookEventConflict.objects.filter(received_at__lt=cutoff).exclude(payload={"expired": True}),
            {"payload": {"expired": True}},
        )
    return counts


def line_user_blocked(*, user: LineUser) -> dict[str, int]:
    """After a block: the user's message texts and conversation context go, if the setting says so."""
    if not config.get("retention.drop_texts_on_block"):
        return {}
    subject = personal_data.Subject(pk=user.pk, line_user_id=user.line_user_id)
    conversation_ids = _touched_conversation_ids(subject)
    _forget_redis(subject, conversation_ids)
    own = _own_conversations(subject)
    texts = Message.objects.filter(Q(conversation__in=own) | Q(line_user_id=user.pk)).exclude(content="", media_ref="")
    return {"message_texts": texts.update(content="", media_ref=""), "redis_contexts": len(conversation_ids)}


def register() -> None:
    personal_data.register(personal_data.Provider("conversations", export=export, erase=erase, retain=retain, order=50))
    personal_data.register(
        personal_data.Provider("conversations.line_user", export=lambda s: {}, erase=erase_user_row, order=1000)
    )
