"""Rich messages: building one from a template, checking it with LINE, sending it as a test, readers' reactions.

::

    message = rich_message_build(template=template, language="th", title=None, body=None,
                                 brief={"theme": "rainy season", "tone": "caring"}, actor=user)
    message.flex        # the exact message object LINE gets (campaigns send it by multicast as it is)
    rich_message_validate(message=message, actor=user)             # LINE's validate endpoint; sends nothing
    rich_message_test_send(message=message, line_user=line_user, actor=user)

Building uses the template's approved version. A title or body given is checked against the version's limits
(in characters as readers see them); what is not given the AI writes (richmessages.copywriting), never holding the
message up. The hero image is composed (richmessages.template_images), stored under its hash
(richmessages.composed) and put in a Flex bubble whose limits are checked before it is saved (richmessages.flex).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from accounts import audit
from accounts.models import AuditEvent
from analytics import links
from conversations.context import Turn, context_append
from conversations.models import Conversation, LineUser, Message
from conversations.services import conversation_open, message_create
from conversations.staff_messages import LineUserInactiveError
from core import correlation
from core.errors import ConflictError, LineApiError, PermissionDeniedError, ValidationError
from core.line.client import get_line_client, with_retries
from core.logging import get_logger
from core.unicode import grapheme_len
from richmessages import composed, copywriting, flex, hosting
from richmessages import metadata as meta
from richmessages.composer import ComposedImage
from richmessages.models import RichMessage, RichMessageReaction, RichTemplate, RichTemplateVersion
from richmessages.template_images import compose_copy
from richmessages.validation import text_is_storable

log = get_logger(__name__)

ADD_PERMISSION = "richmessages.add_richmessage"
VIEW_PERMISSION = "richmessages.view_richmessage"
SEND_TEST_PERMISSION = "richmessages.send_test_richmessage"
PREVIEW_PERMISSION = "richmessages.view_richtemplate"


def _require(user, permission: str, *, doing: str) -> None:
    if user is None or not getattr(user, "is_active", False):
        raise PermissionDeniedError(f"Only an active staff user may {doing}.")
    if not user.has_perm(permission):
        raise PermissionDeniedError(f"You may not {doing}.")


def _bubble(
    version: RichTemplateVersion, image: ComposedImage, *, url: str, title, body, code, language, link_url: str = ""
) -> dict:
    return flex.bubble(
        link_url=link_url,
        image_url=url,
        image_width=image.width,
        image_height=image.height,
        title=title,
        body=body,
        buttons=list(version.buttons),
        code=code,
        language=language,
    )


# --- building -----------------------------------------------------------------------------------
def _given(problems: meta.Problems, field: str, value: Any, *, limit: int) -> str | None:
    """A title or body given by a person, cleaned like the AI's, or None when not given."""
    if value is None:
        return None
    if not isinstance(value, str) or not text_is_storable(value):
        problems.add(field, "must be text")
        return None
    value = copywriting.title_clean(value) if field == "title" else copywriting.body_clean(value)
    if not value:
        problems.add(field, "must not be empty; leave it out for the AI to write it")
    elif grapheme_len(value) > limit:
        problems.add(field, f"is {grapheme_len(value)} characters long; the template allows at most {limit}")
    return value


def _approved_version(template: RichTemplate) -> RichTemplateVersion:
    template.refresh_from_db(fields=["archived_at"])
    if template.archived_at is not None:
        raise ConflictError(f"The template {template.slug!r} is archived; it builds no new message.")
    version = template.approved_version
    if version is None:
        raise ConflictError(
            f"The template {template.slug!r} has no approved version yet; someone other than its author approves it."
        )
    return version


def rich_message_build(
    *,
    template: RichTemplate,
    language: str,
    title: str | None = None,
    body: str | None = None,
    brief: dict | None = None,
    link: str | None = None,
    actor,
    request=None,
) -> RichMessage:
    """A new message from ``template``'s approved version, in ``language`` (th, ja, en, zh). A ``title`` or
    ``body`` left out is written by the AI from ``brief`` (theme, tone, audience). Raises ValidationError naming
    each field, ConflictError when the template cannot build, PermissionDeniedError; stores nothing then. A ``link``
    (http or https) goes out as a tracked link (``/r/<code>``), so its clicks are counted."""
    _require(actor, ADD_PERMISSION, doing="build rich messages")
    problems = meta.Problems()
    language = problems.collect(copywriting.language_clean, language)
    brief = problems.collect(copywriting.brief_clean, brief) or {}
    version = _approved_version(template)
    title = _given(problems, "title", title, limit=version.title_max_chars)
    body = _given(problems, "body", body, limit=version.body_max_chars)
    tracked = problems.collect(lambda value: links.tracked_link_prepare(target_url=value), link) if link else None
    problems.raise_if_any()

    source = RichMessage.CopySource.GIVEN
    if title is None or body is None:
        written = copywriting.copy_write(version=version, language=language, brief=brief)
        title = written.title if title is None else title
        body = written.body if body is None else body
        source = written.source

    image = compose_copy(version, title=title, body=body)
    stored = composed.store(image)
    message = RichMessage(
        template_version=version,
        language=language,
        title=title,
        body=body,
        brief=brief,
        copy_source=source,
        image=stored.name,
        image_sha256=image.sha256,
        created_by=actor,
    )
    try:
        container = _bubble(
            version,
            image,
            url=hosting.public_url(stored.name),
            title=title,
            body=body,
            code=message.code,
            language=language,
            link_url=links.tracked_link_url(tracked) if tracked else "",
        )
        message.flex = flex.flex_message(container, alt=title)
        with transaction.atomic():
            message.save()
            if tracked is not None:
                tracked.rich_message = message
                tracked.save(force_insert=True)
            audit.record(
                action=AuditEvent.Action.RICH_MESSAGE_BUILT,
                actor=actor,
                target=f"rich_message:{message.pk}",
                details={
                    "code": message.code,
                    "template": template.slug,
                    "version": version.number,
                    "language": language,
                    "copy_source": source,
                    "image": stored.name,
                    "truncated": image.truncated,
                },
                request=request,
            )
    except BaseException:
        if stored.created and not RichMessage.objects.filter(image=stored.name).exists():
            default_storage.delete(stored.name)
        raise
    log.info("rich_message_built", message=message.pk, code=message.code, copy_source=source)
    return message


# --- checking with LINE -------------------------------------------------------------------------
@dataclass(frozen=True)
class LineCheck:
    valid: bool
    # Each {"property": ..., "message": ...}: LINE's, or ours for a limit checked before asking LINE.
    problems: list[dict[str, str]]


def _line_problems(error: LineApiError) -> list[dict[str, str]]:
    body = (error.details or {}).get("body", "")
    try:
        answer = json.loads(body)
    except (TypeError, ValueError):
        return [{"property": "", "message": str(body or error.message)[:500]}]
    if not isinstance(answer, dict):
        return [{"property": "", "message": str(answer)[:500]}]
    details = [d for d in answer.get("details") or [] if isinstance(d, dict)]
    problems = [{"property": str(d.get("property", "")), "message": str(d.get("message", ""))} for d in details]
    return problems or [{"property": "", "message": str(answer.get("message") or error.message)}]


def rich_message_validate(*, message: RichMessage, actor) -> LineCheck:
    """Whether LINE would take ``message.flex`` in a push (``/v2/bot/message/validate/push``); sends nothing.

    Raises LineApiError when LINE cannot be asked (5xx, network) after the usual retries."""
    _require(actor, VIEW_PERMISSION, doing="validate rich messages")
    try:
        flex.message_check(message.flex)
    except ValidationError as exc:
        return LineCheck(False, [{"property": "flex", "message": m} for m in (exc.details or {}).get("flex", [])])
    try:
        with_retries(lambda: get_line_client().validate_push_messages([message.flex]))
    except LineApiError as exc:
        if exc.status == 400:
            return LineCheck(False, _line_problems(exc))
        raise
    except ValueError as exc:
        # The LINE client itself cannot express the message (a required field missing, an unknown value).
        return LineCheck(False, [{"property": "flex", "message": " ".join(str(exc).split())[:500]}])
    return LineCheck(True, [])


# --- test sends ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TestSend:
    message: RichMessage
    line_user: LineUser
    retry_key: uuid.UUID
    request_id: str
    sent_at: datetime
    # LINE had accepted this retry key before: the message went out once.
    duplicate: bool


def rich_message_test_send(*, message: RichMessage, line_user: LineUser, actor, request=None) -> TestSend:
    """Pushes ``message.flex`` to one LINE user now, with a retry key, and audits it; the message also enters
    the user's transcript and conversation context, so "Tell me more" and follow-up questions know it."""
    _require(actor, SEND_TEST_PERMISSION, doing="send rich messages as a test")
    if line_user.status != LineUser.Status.ACTIVE:
        raise LineUserInactiveError(details={"line_user_id": line_user.line_user_id})
    flex.message_check(message.flex)
    retry_key = uuid.uuid4()
    try:
        # One key for every attempt: LINE answers 409 to a repeat it already accepted.
        result = with_retries(
            lambda: get_line_client().push(line_user.line_user_id, [message.flex], retry_key=retry_key)
        )
    except LineApiError as exc:
        log.warning("rich_message_test_failed", message=message.pk, status=exc.status, retry_key=str(retry_key))
        raise
    with transaction.atomic():
        conversation = conversation_open(
            source_type=Conversation.SourceType.USER, source_id=line_user.line_user_id, user=line_user
        )
        stored = message_create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=message.recalled_text,
            line_user=line_user,
            webhook_event=None,
            media_ref=f"rich:{message.code}",
            correlation_id=correlation.current(),
            sent_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            action=AuditEvent.Action.RICH_MESSAGE_TEST_SENT,
            actor=actor,
            target=f"rich_message:{message.pk}",
            details={
                "code": message.code,
                "line_user_id": line_user.line_user_id,
                "message_id": stored.pk,
                "retry_key": str(retry_key),
                "line_request_id": result.request_id,
                "duplicate": result.duplicate,
            },
            request=request,
        )
    context_append(conversation.pk, [Turn("assistant", message.recalled_text)], first_new_message_id=stored.pk)
    log.info("rich_message_test_sent", message=message.pk, line_user_id=line_user.line_user_id)
    return TestSend(
        message=message,
        line_user=line_user,
        retry_key=retry_key,
        request_id=result.request_id,
        sent_at=stored.created_at,
        duplicate=result.duplicate,
    )


# --- readers ------------------------------------------------------------------------------------
def rich_message_react(*, message: RichMessage, line_user: LineUser, kind: str) -> bool:
    """Records a like or save once; True the first time, False for a repeat tap."""
    if kind not in RichMessageReaction.Kind.values:
        raise ValueError(f"unknown reaction {kind!r}")
    try:
        with transaction.atomic():
            _, created = RichMessageReaction.objects.get_or_create(rich_message=message, line_user=line_user, kind=kind)
    except IntegrityError:
        return False  # the same tap, delivered twice at once
    return created


# --- previews in the ops console ----------------------------------------------------------------
@dataclass(frozen=True)
class Preview:
    # The Flex message as LINE would get it, but with the hero image inline (LINE gets its public URL).
    flex: dict
    title: str
    body: str
    copy_source: str
    truncated: bool
    json_bytes: int


def rich_message_preview(*, version: RichTemplateVersion, language: str, changes: dict | None = None, actor) -> Preview:
    """The message ``version`` would build, with ``changes`` (metadata fields, as a draft form holds them) and
    sample copy: the curated copy of ``language``, else the safe default. Stores nothing."""
    _require(actor, PREVIEW_PERMISSION, doing="preview rich messages")
    language = copywriting.language_clean(language)
    fields = meta.clean(
        {**meta.of_version(version), **(changes or {})}, image_width=version.width, image_height=version.height
    )
    draft = RichTemplateVersion(
        template=version.template,
        number=version.number,
        background=version.background.name,
        width=version.width,
        height=version.height,
        **fields,
    )
    sample = copywriting.fallback_copy(draft, language)
    image = compose_copy(draft, title=sample.title, body=sample.body)
    url = hosting.public_url(composed.name_of(image))
    message = flex.flex_message(
        _bubble(draft, image, url=url, title=sample.title, body=sample.body, code="preview", language=language),
        alt=sample.title,
    )
    size = flex.json_size(message["contents"])
    message["contents"]["hero"]["url"] = composed.data_url(image)
    return Preview(
        flex=message,
        title=sample.title,
        body=sample.body,
        copy_source=sample.source,
        truncated=image.truncated,
        json_bytes=size,
    )
