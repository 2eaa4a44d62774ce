"""What the bot answers to each kind of event: one handler per LINE event type.

A handler works out the answer and returns it as an :class:`~conversations.outcome.Outcome`;
it never sends anything itself (delivery does, exactly once).
"""

from __future__ import annotations

from conversations import media, takeovers, tunables
from conversations.chat import Chat, ask
from conversations.commands import command_run, is_command
from conversations.line_users import line_user_follow, line_user_set_status, line_user_touch, line_user_update_profile
from conversations.models import LineUser, WebhookEvent
from conversations.outcome import Draft, Outcome
from conversations.personal_data import line_user_blocked
from conversations.postbacks import postback_route
from conversations.services import conversation_close_chat, conversation_continue_or_start, message_forget
from conversations.signals import line_event_handled
from core.errors import LineApiError
from core.line.client import ContentTooLargeError, get_line_client
from core.logging import get_logger
from core.unicode import utf16_cut

log = get_logger(__name__)

_IMAGE_PROMPT = "Describe this picture briefly and helpfully. If it contains text or a question, answer it."
_FILE_PROMPT = "Summarise the document {name} in a few short points.\n\n---\n{content}"


def handle(event: WebhookEvent) -> Outcome:
    user = _user_for(event)
    if _taken_over(event, user):
        return _stored_unanswered(event, user)
    if (
        user is not None
        and user.first_seen_now
        and event.source_type == "user"
        and event.event_type not in _UNPROFILED_TYPES
    ):
        _refresh_profile(user)
    _announce(event, user)
    handler = _EVENT_HANDLERS.get(event.event_type)
    if handler is None:
        log.info("line_event_ignored", event_type=event.event_type)
        return Outcome(user=user)
    return handler(event, user)


# A new user's profile is fetched with their first event; a follow fetches it anyway, an unfollow cannot.
_UNPROFILED_TYPES = ("follow", "unfollow")


# --- takeover -----------------------------------------------------------------------------------
# What a person says to the bot; an operator who took over answers these instead.
_TAKEN_OVER_TYPES = ("message", "postback")


def _taken_over(event: WebhookEvent, user: LineUser | None) -> bool:
    if event.event_type not in _TAKEN_OVER_TYPES or event.source_type != "user" or user is None:
        return False
    if user.takeover_open is None:  # not learnt with the user
        return takeovers.bot_paused_for(line_user_id=user.line_user_id)
    return user.takeover_open and takeovers.takeover_current(line_user=user) is not None


def _stored_unanswered(event: WebhookEvent, user: LineUser) -> Outcome:
    """The user's message goes into the transcript (and the context the bot resumes with), unanswered."""
    outcome = _chat(event, user).outcome(None, [_said(event)])
    outcome.taken_over = True
    return outcome


def _said(event: WebhookEvent) -> Draft:
    if event.event_type == "postback":
        data = str(_mapping(event.payload.get("postback")).get("data") or "")
        return Draft("user", f"(tapped a button: {data[:200]})")
    if event.message_type == "text":
        return Draft("user", event.text, context_text=event.text)
    message = _mapping(event.payload.get("message"))
    kind = event.message_type
    message_id = str(message.get("id") or "")
    if kind == "image":
        return Draft("user", "(picture)", media_ref=f"image:{message_id}")
    if kind == "file":
        return Draft("user", f"(file {message.get('fileName') or ''})", media_ref=f"file:{message_id}")
    if kind == "sticker":
        return Draft("user", "", media_ref=f"sticker:{message.get('stickerId', '')}")
    if kind == "location":
        return Draft("user", "", media_ref=f"location:{message.get('latitude')},{message.get('longitude')}")
    return Draft("user", "", media_ref=f"{kind}:{message_id}")


# --- users --------------------------------------------------------------------------------------
def _user_for(event: WebhookEvent) -> LineUser | None:
    if not event.line_user_id:
        return None
    return line_user_touch(line_user_id=event.line_user_id)[0]


_ANNOUNCED_TYPES = ("message", "follow", "unfollow")


def _announce(event: WebhookEvent, user: LineUser | None) -> None:
    if user is None or event.event_type not in _ANNOUNCED_TYPES:
        return
    props = {"source_type": event.source_type or "user"}
    if event.message_type:
        props["message_type"] = event.message_type
    results = line_event_handled.send_robust(
        sender=WebhookEvent,
        event_type=event.event_type,
        user=user,
        occurred_at=event.occurred_at,
        props=props,
        first_attempt=event.attempts <= 1,
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            log.error("line_event_handled_receiver_failed", receiver=getattr(receiver, "__qualname__", str(receiver)))


def _refresh_profile(user: LineUser) -> None:
    try:
        profile = get_line_client().get_profile(user.line_user_id)
    except LineApiError as exc:
        # The profile is a nicety: the answer must not wait on it.
        log.warning("line_profile_unavailable", status=exc.status)
        return
    line_user_update_profile(
        user=user,
        display_name=profile.display_name,
        picture_url=profile.picture_url,
        status_message=profile.status_message,
        language=profile.language,
    )


def _chat(event: WebhookEvent, user: LineUser | None) -> Chat:
    source_type = event.source_type or "user"
    conversation, started = conversation_continue_or_start(
        source_type=source_type,
        source_id=event.source_id,
        user=user,
        likely_new=source_type == "user" and user is not None and user.first_seen_now,
    )
    return Chat(event=event, user=user, conversation=conversation, new_conversation=started)


# --- follow, unfollow, groups -------------------------------------------------------------------
def _on_follow(event: WebhookEvent, user: LineUser | None) -> Outcome:
    if user is None:
        return Outcome()
    line_user_follow(user=user, followed_at=event.occurred_at)
    _refresh_profile(user)
    chat = _chat(event, user)
    name = f" {user.display_name}" if user.display_name else ""
    return chat.say("greeting", name=name)


def _on_unfollow(event: WebhookEvent, user: LineUser | None) -> Outcome:
    if user is not None:
        line_user_set_status(user=user, status=LineUser.Status.INACTIVE)
        # A block ends the talk: keep only what the retention rules allow past it.
        line_user_blocked(user=user)
    return Outcome(user=user)


def _on_join(event: WebhookEvent, user: LineUser | None) -> Outcome:
    return _chat(event, user).say("group_greeting")


def _on_leave(event: WebhookEvent, user: LineUser | None) -> Outcome:
    conversation_close_chat(source_type=event.source_type, source_id=event.source_id)
    return Outcome(user=user)


def _on_member_joined(event: WebhookEvent, user: LineUser | None) -> Outcome:
    return _chat(event, user).say("welcome_member", name="")


def _on_unsend(event: WebhookEvent, user: LineUser | None) -> Outcome:
    """The user took a message back: its text is forgotten here too."""
    unsent = str(_mapping(event.payload.get("unsend")).get("messageId") or "")
    if unsent and event.line_user_id:
        message_forget(line_user_id=event.line_user_id, line_message_id=unsent)
    return Outcome(user=user)


def _on_postback(event: WebhookEvent, user: LineUser | None) -> Outcome:
    chat = _chat(event, user)
    if event.throttled:
        return chat.say("rate_limited")
    answer = postback_route(event=event, user=user, conversation=chat.conversation)
    if isinstance(answer, Outcome):
        return answer
    messages = answer
    drafts = [Draft("assistant", m["text"]) for m in messages or [] if m.get("type") == "text"]
    return chat.outcome(messages, drafts)


# --- messages -----------------------------------------------------------------------------------
def _on_message(event: WebhookEvent, user: LineUser | None) -> Outcome:
    message = _mapping(event.payload.get("message"))
    kind = event.message_type
    chat = _chat(event, user)
    if event.source_type in ("group", "room"):
        if kind != "text":
            return chat.outcome(None)
        addressed = _addressed_text(message)
        if addressed is None:
            return chat.outcome(None)
        message = {**message, "text": addressed}
    if event.throttled:
        return chat.say("rate_limited")
    if kind == "text":
        return _on_text(chat, str(message.get("text") or ""))
    if kind == "image" and tunables.image_understanding_enabled():
        return _on_image(chat, message)
    if kind == "file" and tunables.file_understanding_enabled():
        return _on_file(chat, message)
    if kind == "sticker":
        return chat.say("sticker", said=Draft("user", "", media_ref=f"sticker:{message.get('stickerId', '')}"))
    if kind == "location":
        place = message.get("title") or message.get("address") or ""
        said = Draft("user", "", media_ref=f"location:{message.get('latitude')},{message.get('longitude')}")
        return chat.say("location", said=said, place=f" ({place})" if place else "")
    return chat.say("unsupported", said=Draft("user", "", media_ref=f"{kind}:{message.get('id', '')}"))


def _mapping(value) -> dict:
    # Payloads are stored as LINE sent them; a field of an unexpected shape counts as absent.
    return value if isinstance(value, dict) else {}


def _addressed_text(message: dict) -> str | None:
    """The text meant for the bot in a group: it mentions the bot or starts with a prefix."""
    body = str(message.get("text") or "")
    mentionees = _mapping(message.get("mention")).get("mentionees")
    mentionees = [m for m in mentionees if isinstance(m, dict)] if isinstance(mentionees, list) else []
    own = [m for m in mentionees if m.get("isSelf")]
    if own:
        # Cut the mention itself out of the text; LINE counts its position in UTF-16 units.
        for m in sorted(own, key=lambda m: _int(m.get("index")), reverse=True):
            body = utf16_cut(body, _int(m.get("index")), _int(m.get("length")))
        return body.strip()
    lowered = body.lstrip().lower()
    for prefix in tunables.group_prefixes():
        if prefix and lowered.startswith(prefix.lower()):
            return body.lstrip()[len(prefix) :].strip()
    return None


def _int(value) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _show_loading(event: WebhookEvent) -> None:
    """LINE's loading animation, for an answer that waits on the model or a download.

    An answer the bot has at once (a sticker, a command, a fixed sentence) goes out without it: the
    animation would only flash, and it is a LINE call of its own.
    """
    if event.source_type != "user" or not event.source_id:
        return
    try:
        get_line_client().show_loading(event.source_id)
    except LineApiError as exc:
        log.info("line_loading_indicator_failed", status=exc.status)


def _on_text(chat: Chat, body: str) -> Outcome:
    if is_command(body):
        result = command_run(message=body, user=chat.user, conversation=chat.conversation)
        return chat.reply_text(result.reply, said=Draft("user", body))
    _show_loading(chat.event)
    return ask(chat, question=body, prompt_content=body, draft=Draft("user", body))


def _on_image(chat: Chat, message: dict) -> Outcome:
    message_id = str(message.get("id") or "")
    said = Draft("user", "(picture)", media_ref=f"image:{message_id}")
    provider = _mapping(message.get("contentProvider")).get("type", "line")
    if provider != "line":
        return chat.say("unsupported", said=said)
    _show_loading(chat.event)
    try:
        with media.scratch_file(".img") as path:
            with path.open("wb") as destination:
                get_line_client().download_content(message_id, destination, max_bytes=tunables.file_max_bytes())
            prepared = media.image_prepare(path, max_side=tunables.image_max_side())
    except (ContentTooLargeError, media.UnreadableMediaError):
        return chat.say("image_unreadable", said=said)
    except LineApiError as exc:
        if exc.retryable:
            raise
        return chat.say("image_unreadable", said=said)
    content = [
        {"type": "text", "text": _IMAGE_PROMPT},
        {"type": "image_url", "image_url": {"url": prepared.data_url()}},
    ]
    return ask(chat, question="(The user sent a picture.)", prompt_content=content, draft=said)


def _on_file(chat: Chat, message: dict) -> Outcome:
    message_id = str(message.get("id") or "")
    name = str(message.get("fileName") or "")
    draft = Draft("user", f"(file {name})", media_ref=f"file:{message_id}")
    kind = media.file_kind(name)
    if kind is None:
        return chat.say("unsupported", said=draft)
    limit = tunables.file_max_bytes()
    size = message.get("fileSize")
    if isinstance(size, int) and size > limit:
        return chat.say("file_too_large", said=draft, limit=str(limit // (1024 * 1024)))
    _show_loading(chat.event)
    try:
        with media.scratch_file(f".{kind}") as path:
            with path.open("wb") as destination:
                get_line_client().download_content(message_id, destination, max_bytes=limit)
            content = media.file_text(path, kind=kind, max_chars=tunables.file_max_chars())
    except ContentTooLargeError:
        return chat.say("file_too_large", said=draft, limit=str(limit // (1024 * 1024)))
    except media.UnreadableMediaError:
        return chat.say("file_unreadable", said=draft)
    except LineApiError as exc:
        if exc.retryable:
            raise
        return chat.say("file_unreadable", said=draft)
    return ask(
        chat,
        question=f"(The user sent the file {name}.)\n{content[:2000]}",
        prompt_content=_FILE_PROMPT.format(name=name, content=content),
        draft=draft,
    )


_EVENT_HANDLERS = {
    "message": _on_message,
    "follow": _on_follow,
    "unfollow": _on_unfollow,
    "join": _on_join,
    "leave": _on_leave,
    "memberJoined": _on_member_joined,
    "postback": _on_postback,
    "unsend": _on_unsend,
}
