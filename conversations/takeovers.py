"""Live chat takeover: an operator pauses the bot for one LINE user, answers by push, then hands back.

While a takeover is open and not past ``expires_at`` the bot stores and shows what the user sends but
does not answer it (:func:`bot_paused_for`, asked by ``dispatch`` before any answer is worked out).  The
pause lasts the runtime setting ``takeover.pause_minutes`` from the start or from the operator's last
message; an expired takeover is closed the next time anyone asks, so no scheduled job is needed.

Every start, operator message and end is audited and appears in the user's chat view.  An operator's
message is stored with its ``X-Line-Retry-Key`` before LINE is called, so sending it again (after a
timeout or a 5xx) cannot deliver it twice.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from conversations import tunables
from conversations.context import Turn, context_append
from conversations.live import chat_changed
from conversations.models import Conversation, LineUser, Message, Takeover
from conversations.services import conversation_open, message_create
from conversations.staff_messages import LineUserInactiveError, staff_message_text_check
from core import correlation
from core.errors import ConflictError, LineApiError, PermissionDeniedError
from core.line.client import get_line_client, with_retries
from core.logging import get_logger

log = get_logger(__name__)

PERMISSION = "conversations.take_over_conversation"


class TakeoverNotActiveError(ConflictError):
    code = "takeover_not_active"
    default_message = "The bot is not paused for this user: take over first."


def may_take_over(user) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and user.has_perm(PERMISSION)
    )


def _require(actor) -> None:
    if not may_take_over(actor):
        raise PermissionDeniedError("You may not take over conversations from the bot.")


def _target(line_user: LineUser) -> str:
    return f"line_user:{line_user.line_user_id}"


def _pause_until():
    return timezone.now() + timedelta(minutes=tunables.takeover_pause_minutes())


def takeover_current(*, line_user: LineUser) -> Takeover | None:
    """The takeover that keeps the bot silent for this user now; one past its time is closed here."""
    takeover = Takeover.objects.filter(line_user=line_user, ended_at__isnull=True).select_related("started_by").first()
    if takeover is None:
        return None
    if takeover.expires_at > timezone.now():
        return takeover
    _expire(takeover)
    return None


def _expire(takeover: Takeover) -> None:
    with transaction.atomic():
        closed = Takeover.objects.filter(pk=takeover.pk, ended_at__isnull=True).update(
            ended_at=takeover.expires_at, end_reason=Takeover.EndReason.EXPIRED
        )
        if not closed:  # another process closed it first
            return
        audit.record(
            action=AuditEvent.Action.TAKEOVER_ENDED,
            target=_target(takeover.line_user),
            details={"takeover_id": takeover.pk, "reason": Takeover.EndReason.EXPIRED},
        )
        chat_changed(line_user_id=takeover.line_user_id, takeover_ids=[takeover.pk])
    log.info("takeover_expired", takeover_id=takeover.pk)


def bot_paused_for(*, line_user_id: str) -> bool:
    """Whether an operator has the chat of this LINE user id now (one query when nobody has)."""
    takeover = (
        Takeover.objects.filter(line_user__line_user_id=line_user_id, ended_at__isnull=True)
        .select_related("line_user")
        .first()
    )
    return takeover is not None and takeover_current(line_user=takeover.line_user) is not None


def takeover_start(*, line_user: LineUser, actor, request=None) -> Takeover:
    """Pauses the bot for ``line_user``; an open takeover is returned as it is (starting twice is harmless)."""
    _require(actor)
    current = takeover_current(line_user=line_user)
    if current is not None:
        return current
    try:
        with transaction.atomic():
            takeover = Takeover.objects.create(line_user=line_user, started_by=actor, expires_at=_pause_until())
            audit.record(
                action=AuditEvent.Action.TAKEOVER_STARTED,
                actor=actor,
                target=_target(line_user),
                details={"takeover_id": takeover.pk, "expires_at": takeover.expires_at},
                request=request,
            )
            chat_changed(line_user_id=line_user.pk, takeover_ids=[takeover.pk])
    except IntegrityError:
        # Another operator took over at the same moment: theirs is the open one.
        return Takeover.objects.get(line_user=line_user, ended_at__isnull=True)
    log.info("takeover_started", takeover_id=takeover.pk, line_user_id=line_user.line_user_id)
    return takeover


def takeover_end(*, line_user: LineUser, actor, request=None) -> Takeover:
    """Hands the user back to the bot; raises TakeoverNotActiveError when the bot is not paused."""
    _require(actor)
    takeover = takeover_current(line_user=line_user)
    if takeover is None:
        raise TakeoverNotActiveError(details={"line_user_id": line_user.line_user_id})
    with transaction.atomic():
        now = timezone.now()
        closed = Takeover.objects.filter(pk=takeover.pk, ended_at__isnull=True).update(
            ended_at=now, ended_by=actor, end_reason=Takeover.EndReason.HANDED_BACK
        )
        if not closed:
            raise TakeoverNotActiveError(details={"line_user_id": line_user.line_user_id})
        audit.record(
            action=AuditEvent.Action.TAKEOVER_ENDED,
            actor=actor,
            target=_target(line_user),
            details={"takeover_id": takeover.pk, "reason": Takeover.EndReason.HANDED_BACK},
            request=request,
        )
        chat_changed(line_user_id=line_user.pk, takeover_ids=[takeover.pk])
    takeover.refresh_from_db()
    log.info("takeover_ended", takeover_id=takeover.pk, line_user_id=line_user.line_user_id)
    return takeover


def operator_message_send(*, line_user: LineUser, text: str, actor, request=None) -> Message:
    """Stores the operator's text with a retry key, pushes it to the user and audits it.

    Raises before anything is stored when the text, the user or the takeover is unfit; raises
    LineApiError when LINE cannot be reached, leaving the message stored and marked not delivered,
    to be sent again with :func:`operator_message_resend`.
    """
    _require(actor)
    text = staff_message_text_check(text)
    if line_user.status != LineUser.Status.ACTIVE:
        raise LineUserInactiveError(details={"line_user_id": line_user.line_user_id})
    takeover = takeover_current(line_user=line_user)
    if takeover is None:
        raise TakeoverNotActiveError(details={"line_user_id": line_user.line_user_id})
    with transaction.atomic():
        conversation = conversation_open(
            source_type=Conversation.SourceType.USER, source_id=line_user.line_user_id, user=line_user
        )
        message = message_create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=text,
            line_user=line_user,
            webhook_event=None,
            correlation_id=correlation.current(),
            sent_by=actor,
            takeover=takeover,
            retry_key=uuid.uuid4(),
        )
        # The operator is still talking: the pause runs from their last message.
        Takeover.objects.filter(pk=takeover.pk).update(expires_at=_pause_until())
        chat_changed(line_user_id=line_user.pk, takeover_ids=[takeover.pk])
    # The bot remembers what the operator said once it answers again.
    context_append(conversation.pk, [Turn("assistant", text)], first_new_message_id=message.pk)
    _push(message, line_user=line_user, actor=actor, request=request)
    return message


def operator_message_resend(*, message: Message, actor, request=None) -> Message:
    """Sends an operator's message that LINE did not confirm again, with its stored retry key."""
    _require(actor)
    if message.retry_key is None or message.delivered_at is not None:
        return message
    line_user = message.line_user
    _push(message, line_user=line_user, actor=actor, request=request)
    return message


def _push(message: Message, *, line_user: LineUser, actor, request) -> None:
    details = {"message_id": message.pk, "takeover_id": message.takeover_id, "retry_key": str(message.retry_key)}
    try:
        # The same key on every attempt: LINE answers 409 to a repeat it already accepted.
        result = with_retries(
            lambda: get_line_client().push(
                line_user.line_user_id, [{"type": "text", "text": message.content}], retry_key=message.retry_key
            )
        )
    except LineApiError as exc:
        log.warning("takeover_message_failed", message_id=message.pk, status=exc.status)
        audit.record(
            action=AuditEvent.Action.TAKEOVER_MESSAGE_SENT,
            actor=actor,
            target=_target(line_user),
            details={**details, "delivered": False, "error": exc.message, "status": exc.status},
            request=request,
        )
        raise
    message.delivered_at = timezone.now()
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(delivered_at=message.delivered_at)
        audit.record(
            action=AuditEvent.Action.TAKEOVER_MESSAGE_SENT,
            actor=actor,
            target=_target(line_user),
            details={
                **details,
                "delivered": True,
                "line_request_id": result.request_id,
                "duplicate": result.duplicate,
            },
            request=request,
        )
        chat_changed(line_user_id=line_user.pk, message_ids=[message.pk])
    log.info("takeover_message_sent", message_id=message.pk, line_user_id=line_user.line_user_id)
