"""Test messages: a staff member with ``accounts.send_test_message`` pushes a text to one LINE user.

The push carries a fresh ``X-Line-Retry-Key``, so retrying after a timeout or a 5xx cannot
deliver twice. What was sent is stored as an assistant message marked with its sender
(``Message.sent_by``) and written to the audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from accounts import audit
from accounts.models import AuditEvent
from conversations import line_client
from conversations.handlers import MAX_UTF16_UNITS
from conversations.models import Conversation, LineUser, Message
from conversations.services import conversation_open, message_create
from core import correlation
from core.errors import AppError, LineApiError, ValidationError
from core.logging import get_logger

log = get_logger(__name__)

PERMISSION = "accounts.send_test_message"


class LineUserInactiveError(AppError):
    code = "line_user_inactive"
    status_code = 409
    default_message = "This LINE user has unfollowed the bot; nothing can be pushed to them."


@dataclass(frozen=True)
class SentTestMessage:
    message: Message
    retry_key: uuid.UUID
    request_id: str


def utf16_units(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def test_message_text_check(text: str) -> str:
    """The text as it will be sent; raises :class:`ValidationError` when LINE would refuse it."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("The text must not be empty.", details={"text": ["This field may not be blank."]})
    if "\x00" in text:
        raise ValidationError("The text must not contain NUL characters.", details={"text": ["NUL character."]})
    units = utf16_units(text)
    if units > MAX_UTF16_UNITS:
        raise ValidationError(
            f"The text is {units} UTF-16 units long; LINE accepts at most {MAX_UTF16_UNITS}.",
            details={"text": [f"At most {MAX_UTF16_UNITS} UTF-16 units ({units} given)."]},
        )
    return text


def _push(to: str, messages: list[dict], retry_key: uuid.UUID) -> line_client.SendResult:
    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.LINE_API_ATTEMPTS)),
        wait=wait_exponential(multiplier=settings.LINE_API_RETRY_WAIT, max=4.0),
        retry=retry_if_exception(lambda exc: isinstance(exc, LineApiError) and exc.retryable),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            # The same key on every attempt: LINE answers 409 to a repeat it already accepted.
            return line_client.get_line_client().push(to, messages, retry_key=retry_key)
    raise AssertionError("unreachable")  # pragma: no cover


def test_message_send(*, line_user: LineUser, text: str, actor, request=None) -> SentTestMessage:
    """Pushes ``text`` to ``line_user`` now; raises before sending anything if the text or the user is unfit."""
    text = test_message_text_check(text)
    if line_user.status != LineUser.Status.ACTIVE:
        raise LineUserInactiveError(details={"line_user_id": line_user.line_user_id})
    retry_key = uuid.uuid4()
    try:
        result = _push(line_user.line_user_id, [{"type": "text", "text": text}], retry_key)
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
                "utf16_units": utf16_units(text),
            },
            request=request,
        )
    log.info("test_message_sent", line_user_id=line_user.line_user_id, message_id=message.pk)
    return SentTestMessage(message=message, retry_key=retry_key, request_id=result.request_id)
