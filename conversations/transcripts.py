"""One LINE user's chat as the console's chat view shows it: plain items, the same for the page and the socket.

An item is a dict with an ``id`` (``m<pk>`` for a message, ``t<pk>-start`` / ``t<pk>-end`` for a takeover
note), ``at``, and a ``kind``: ``user`` (left), ``bot`` (right), ``operator`` (right, marked with who sent
it) or ``note`` (takeovers and hand-backs, centred).  A bot answer carries the LINE messages that were
sent (``messages``: text, Flex, templates, quick replies), drawn by the simulator's renderer; a picture the
user sent carries the URL the console shows it from.
"""

from __future__ import annotations

from django.db.models import Min
from django.urls import reverse
from django.utils import timezone

from conversations import sent_images
from conversations.models import Conversation, Message, Takeover, WebhookEvent

CHAT_LIMIT = 200


def _messages(line_user_id: int):
    return Message.objects.filter(
        conversation__user_id=line_user_id, conversation__source_type=Conversation.SourceType.USER
    ).select_related("webhook_event", "sent_by")


def chat_items(*, line_user_id: int, message_ids=None, takeover_ids=None, limit: int = CHAT_LIMIT) -> list[dict]:
    """The latest ``limit`` messages with the takeovers among them, oldest first; or only the given ones."""
    if message_ids is None and takeover_ids is None:
        messages = list(_messages(line_user_id).order_by("-created_at", "-id")[:limit])
        messages.reverse()
        takeovers = Takeover.objects.filter(line_user_id=line_user_id)
        if len(messages) == limit:
            takeovers = takeovers.filter(started_at__gte=messages[0].created_at)
        takeovers = list(takeovers.select_related("started_by", "ended_by").order_by("-started_at")[:limit])
    else:
        messages = list(_messages(line_user_id).filter(pk__in=list(message_ids or [])))
        takeovers = list(
            Takeover.objects.filter(line_user_id=line_user_id, pk__in=list(takeover_ids or [])).select_related(
                "started_by", "ended_by"
            )
        )
    first_answers = _first_answers(messages)
    items = [item for message in messages if (item := _message_item(message, first_answers)) is not None]
    for takeover in takeovers:
        items.extend(_takeover_items(takeover))
    items.sort(key=lambda item: (item["at"], item["order"]))
    return items


def _first_answers(messages: list[Message]) -> set[int]:
    """The first bot message of each answered event: the event's LINE messages are drawn on it, once."""
    event_ids = {m.webhook_event_id for m in messages if m.webhook_event_id and m.role == Message.Role.ASSISTANT}
    if not event_ids:
        return set()
    rows = (
        Message.objects.filter(webhook_event_id__in=event_ids, role=Message.Role.ASSISTANT)
        .values("webhook_event_id")
        .annotate(first=Min("id"))
    )
    return {row["first"] for row in rows}


def _name(user) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()


def _message_item(message: Message, first_answers: set[int]) -> dict | None:
    item = {"id": f"m{message.pk}", "at": message.created_at, "order": message.pk, "text": message.content}
    media_kind = message.media_ref.split(":", 1)[0] if message.media_ref else ""
    if message.role == Message.Role.USER:
        event = message.webhook_event
        item.update(kind="user", media=media_kind)
        if sent_images.line_message_id(message.media_ref) is not None:
            item["picture_url"] = reverse("admin:conversations_message_picture", args=[message.pk])
        if event is not None and event.status == WebhookEvent.Status.TAKEN_OVER:
            item["not_answered"] = "The bot did not answer: an operator had taken over."
        return item
    if message.sent_by_id:
        item.update(kind="operator", by=_name(message.sent_by), media=media_kind)
        if message.takeover_id is None:
            item["label"] = "test message" if media_kind != "rich" else "rich message sent as a test"
        if message.retry_key is not None:
            item["delivered"] = message.delivered_at is not None
        return item
    event = message.webhook_event
    if event is not None and event.reply_messages:
        if message.pk not in first_answers:
            return None
        item["messages"] = event.reply_messages
    item.update(kind="bot")
    return item


def _takeover_items(takeover: Takeover) -> list[dict]:
    items = [
        {
            "id": f"t{takeover.pk}-start",
            "kind": "note",
            "at": takeover.started_at,
            "order": 0,
            "text": f"{_name(takeover.started_by)} took over: the bot is paused for this user.",
        }
    ]
    if takeover.ended_at is not None:
        if takeover.end_reason == Takeover.EndReason.EXPIRED:
            text = "The takeover expired: the bot answers again."
        else:
            text = f"{_name(takeover.ended_by)} handed back to the bot."
        items.append({"id": f"t{takeover.pk}-end", "kind": "note", "at": takeover.ended_at, "order": 0, "text": text})
    return items


def takeover_state(*, line_user_id: int) -> dict:
    """Whether the bot is paused for the user now, by whom and until when (read only)."""
    takeover = (
        Takeover.objects.filter(line_user_id=line_user_id, ended_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("started_by")
        .first()
    )
    if takeover is None:
        return {"active": False}
    return {
        "active": True,
        "id": takeover.pk,
        "by": _name(takeover.started_by),
        "started_at": takeover.started_at,
        "expires_at": takeover.expires_at,
    }
