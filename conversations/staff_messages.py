"""Staff messages ("test messages"): a staff member with ``accounts.send_test_message`` pushes a text to one LINE user.

The push carries a fresh ``X-Line-Retry-Key``, so retrying after a timeout or a 5xx cannot
deliver twice. What was sent is stored as an assistant message marked with its sender
(``Message.sent_by``) and written to the audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from accounts import audit
from accounts.models import AuditEvent
from conversations.line_messages import MAX_UTF16_UNITS
from conversations.models import Conversation, LineUser, Message
from conversations.services import conversation_open, message_create
from core import correlation
from core.errors import AppError, LineApiError, ValidationError
from core.line.client import get_line_client, with_retries
from core.logging import get_logger
from core.unicode import utf16_len

log = get_logger(__name__)

PERMISSION = "accounts.send_test_message"


class LineUserInactiveError(AppError):
    code = "line_user_inactive"
    status_code = 409
    default_message = "This LINE user has unfollowed the bot; nothing can be pushed to them."


@dataclass(frozen=True)
class SentStaffMessage:
    message: Message
    retry_key: uuid.UUID
    request_id: str


def staff_message_text_check(text: str) -> str:
    """The text as it will be sent; raises :class:`ValidationError` when LINE would refuse it."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("The text must not be empty.", details={"text": ["This field may not be blank."]})
    if "\x00" in text:
        raise ValidationError("The text must not contain NUL characters.", details={"text": ["NUL character."]})
    units = utf16_len(text)
    if units > MAX_UTF16_UNITS:
        raise ValidationError(
            f"The text is {units} UTF-16 units long; LINE accepts at most {MAX_UTF16_UNITS}.",
            details={"text": [f"At most {MAX_UTF16_UNITS} UTF-16 units ({units} given)."]},
        )
    return text


def staff_message_send(*, line_user: LineUser, text: str, actor, request=None) -> SentStaffMessage:
    """Pushes ``text`` to ``line_user`` now; raises before sending anything if the text or the user is unfit."""
    text = staff_message_text_check(text)
    if line_user.status != LineUser.Status.ACTIVE:
        raise LineUserInactiveError(details={"line_user_id": line_user.line_user_id})
    retry_key = uuid.uuid4()
    try:
        # The same key on every attempt: LINE answers 409 to a repeat it already accepted.
        result = with_retries(
            lambda: get_line_client().push(
                line_user.line_user_id, [{"type": "text", "text": text}], retry_key=retry_key
            )
        )
    except LineApiError as exc:
        log.warning(
            "test_message_failed", line_user_id=line_user.line_user_id, status=exc.status, retry_key=str(retry_key)
        )
        raise
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
            sent_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            action=AuditEvent.Action.TEST_MESSAGE_SENT,
            actor=actor,
            target=f"line_user:{line_user.line_user_id}",
            details={
                "message_id": message.pk,
                "retry_key": str(retry_key),
                "line_request_id": result.request_id,
                "duplicate": result.duplicate,
                "utf16_units": utf16_len(text),
            },
            request=request,
        )
    log.info("test_message_sent", line_user_id=line_user.line_user_id, message_id=message.pk)
    return SentStaffMessage(message=message, retry_key=retry_key, request_id=result.request_id)
