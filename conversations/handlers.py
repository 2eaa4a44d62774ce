"""What the bot answers to each kind of event.

A handler works out the answer and returns it as an :class:`Outcome`; it never sends
anything itself (delivery does, exactly once) and writes nothing that a rerun would
duplicate: the messages to record travel in the outcome and are stored together with
the prepared reply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from conversations import line_client, media, tunables
from conversations.commands import command_run, is_command
from conversations.context import context_load
from conversations.models import Conversation, LineUser, WebhookEvent
from conversations.postbacks import postback_route
from conversations.selectors import tokens_used_today
from conversations.services import (
    conversation_close_chat,
    conversation_open,
    line_user_set_status,
    line_user_touch,
    line_user_update_profile,
    message_forget,
)
from conversations.texts import text
from core import llm
from core.errors import LineApiError, LLMError
from core.logging import get_logger

log = get_logger(__name__)

_IMAGE_PROMPT = "Describe this picture briefly and helpfully. If it contains text or a question, answer it."
_FILE_PROMPT = "Summarise the document {name} in a few short points.\n\n---\n{content}"


@dataclass
class Draft:
    """A message to store once the answer is prepared."""

    role: str
    content: str
    media_ref: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int | None = None
    model: str = ""
    # What the next prompts remember of this message; None keeps it out of the context.
    context_text: str | None = None


@dataclass
class Outcome:
    messages: list[dict] | None = None
    drafts: list[Draft] = field(default_factory=list)
    conversation: Conversation | None = None
    user: LineUser | None = None


@dataclass
class _Chat:
    event: WebhookEvent
    user: LineUser | None
    conversation: Conversation

    @property
    def language(self) -> str:
        return self.user.language if self.user else ""

    def say(self, key: str, **values: str) -> list[dict]:
        return [{"type": "text", "text": text(key, self.language, **values)}]


def handle(event: WebhookEvent) -> Outcome:
    if event.event_type == "message" and not event.throttled:
        # First of all, so the user sees the bot at work while the profile and the model are fetched.
        _show_loading(event)
    user = _user_for(event)
    handler = _EVENT_HANDLERS.get(event.event_type)
    if handler is None:
        log.info("line_event_ignored", event_type=event.event_type)
        return Outcome(user=user)
    return handler(event, user)


# --- users --------------------------------------------------------------------------------------
def _user_for(event: WebhookEvent) -> LineUser | None:
    if not event.line_user_id:
        return None
    user, created = line_user_touch(line_user_id=event.line_user_id)
    if created and event.source_type == "user" and event.event_type != "unfollow":
        _refresh_profile(user)
    return user


def _refresh_profile(user: LineUser) -> None:
    try:
        profile = line_client.get_line_client().get_profile(user.line_user_id)
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


def _chat(event: WebhookEvent, user: LineUser | None) -> _Chat:
    conversation = conversation_open(source_type=event.source_type or "user", source_id=event.source_id, user=user)
    return _Chat(event=event, user=user, conversation=conversation)


def _outcome(chat: _Chat, messages: list[dict] | None, drafts: list[Draft] | None = None) -> Outcome:
    return Outcome(messages=messages, drafts=drafts or [], conversation=chat.conversation, user=chat.user)


# --- follow, unfollow, groups -------------------------------------------------------------------
def _on_follow(event: WebhookEvent, user: LineUser | None) -> Outcome:
    if user is None:
        return Outcome()
    line_user_set_status(user=user, status=LineUser.Status.ACTIVE)
    _refresh_profile(user)
    chat = _chat(event, user)
    name = f" {user.display_name}" if user.display_name else ""
    return _outcome(chat, chat.say("greeting", name=name))


def _on_unfollow(event: WebhookEvent, user: LineUser | None) -> Outcome:
    if user is not None:
        line_user_set_status(user=user, status=LineUser.Status.INACTIVE)
    return Outcome(user=user)


def _on_join(event: WebhookEvent, user: LineUser | None) -> Outcome:
    chat = _chat(event, user)
    return _outcome(chat, chat.say("group_greeting"))


def _on_leave(event: WebhookEvent, user: LineUser | None) -> Outcome:
    conversation_close_chat(source_type=event.source_type, source_id=event.source_id)
    return Outcome(user=user)


def _on_member_joined(event: WebhookEvent, user: LineUser | None) -> Outcome:
    chat = _chat(event, user)
    return _outcome(chat, chat.say("welcome_member", name=""))


def _on_unsend(event: WebhookEvent, user: LineUser | None) -> Outcome:
    """The user took a message back: its text is forgotten here too."""
    unsent = str(_mapping(event.payload.get("unsend")).get("messageId") or "")
    if unsent and event.line_user_id:
        message_forget(line_user_id=event.line_user_id, line_message_id=unsent)
    return Outcome(user=user)


def _on_postback(event: WebhookEvent, user: LineUser | None) -> Outcome:
    chat = _chat(event, user)
    if event.throttled:
        return _outcome(chat, chat.say("rate_limited"))
    return _outcome(chat, postback_route(event=event, user=user, conversation=chat.conversation))


# --- messages -----------------------------------------------------------------------------------
def _on_message(event: WebhookEvent, user: LineUser | None) -> Outcome:
    message = _mapping(event.payload.get("message"))
    kind = event.message_type
    chat = _chat(event, user)
    in_group = event.source_type in ("group", "room")
    if in_group:
        if kind != "text":
            return _outcome(chat, None)
        addressed = _addressed_text(message)
        if addressed is None:
            return _outcome(chat, None)
        message = {**message, "text": addressed}
    if event.throttled:
        return _outcome(chat, chat.say("rate_limited"))
    if kind == "text":
        return _on_text(chat, str(message.get("text") or ""))
    if kind == "image" and tunables.image_understanding_enabled():
        return _on_image(chat, message)
    if kind == "file" and tunables.file_understanding_enabled():
        return _on_file(chat, message)
    if kind == "sticker":
        return _outcome(
            chat, chat.say("sticker"), [Draft("user", "", media_ref=f"sticker:{message.get('stickerId', '')}")]
        )
    if kind == "location":
        place = message.get("title") or message.get("address") or ""
        return _outcome(
            chat,
            chat.say("location", place=f" ({place})" if place else ""),
            [Draft("user", "", media_ref=f"location:{message.get('latitude')},{message.get('longitude')}")],
        )
    return _outcome(chat, chat.say("unsupported"), [Draft("user", "", media_ref=f"{kind}:{message.get('id', '')}")])


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
        units = body.encode("utf-16-le")
        for m in sorted(own, key=lambda m: _int(m.get("index")), reverse=True):
            start, length = _int(m.get("index")) * 2, _int(m.get("length")) * 2
            units = units[:start] + units[start + length :]
        return units.decode("utf-16-le", "replace").strip()
    lowered = body.lstrip().lower()
    for prefix in tunables.group_prefixes():
        if prefix and lowered.startswith(prefix.lower()):
            return body.lstrip()[len(prefix) :].strip()
    return None


def _int(value) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _show_loading(event: WebhookEvent) -> None:
    if event.source_type != "user" or not event.source_id:
        return
    try:
        line_client.get_line_client().show_loading(event.source_id)
    except LineApiError as exc:
        log.info("line_loading_indicator_failed", status=exc.status)


def _on_text(chat: _Chat, body: str) -> Outcome:
    if is_command(body):
        return _outcome(
            chat,
            [{"type": "text", "text": command_run(message=body, user=chat.user, conversation=chat.conversation).reply}],
        )
    return _ask(chat, question=body, prompt_content=body, draft=Draft("user", body))


def _on_image(chat: _Chat, message: dict) -> Outcome:
    message_id = str(message.get("id") or "")
    provider = _mapping(message.get("contentProvider")).get("type", "line")
    if provider != "line":
        return _outcome(chat, chat.say("unsupported"), [Draft("user", "", media_ref=f"image:{message_id}")])
    try:
        with media.scratch_file(".img") as path:
            with path.open("wb") as destination:
                line_client.get_line_client().download_content(
                    message_id, destination, max_bytes=tunables.file_max_bytes()
                )
            prepared = media.image_prepare(path, max_side=tunables.image_max_side())
    except (line_client.ContentTooLargeError, media.UnreadableMediaError):
        return _outcome(chat, chat.say("image_unreadable"), [Draft("user", "", media_ref=f"image:{message_id}")])
    except LineApiError as exc:
        if exc.retryable:
            raise
        return _outcome(chat, chat.say("image_unreadable"), [Draft("user", "", media_ref=f"image:{message_id}")])
    content = [
        {"type": "text", "text": _IMAGE_PROMPT},
        {"type": "image_url", "image_url": {"url": prepared.data_url()}},
    ]
    return _ask(
        chat,
        question="(The user sent a picture.)",
        prompt_content=content,
        draft=Draft("user", "(picture)", media_ref=f"image:{message_id}"),
    )


def _on_file(chat: _Chat, message: dict) -> Outcome:
    message_id = str(message.get("id") or "")
    name = str(message.get("fileName") or "")
    draft = Draft("user", f"(file {name})", media_ref=f"file:{message_id}")
    kind = media.file_kind(name)
    if kind is None:
        return _outcome(chat, chat.say("unsupported"), [draft])
    limit = tunables.file_max_bytes()
    size = message.get("fileSize")
    if isinstance(size, int) and size > limit:
        return _outcome(chat, chat.say("file_too_large", limit=str(limit // (1024 * 1024))), [draft])
    try:
        with media.scratch_file(f".{kind}") as path:
            with path.open("wb") as destination:
                line_client.get_line_client().download_content(message_id, destination, max_bytes=limit)
            content = media.file_text(path, kind=kind, max_chars=tunables.file_max_chars())
    except line_client.ContentTooLargeError:
        return _outcome(chat, chat.say("file_too_large", limit=str(limit // (1024 * 1024))), [draft])
    except media.UnreadableMediaError:
        return _outcome(chat, chat.say("file_unreadable"), [draft])
    except LineApiError as exc:
        if exc.retryable:
            raise
        return _outcome(chat, chat.say("file_unreadable"), [draft])
    return _ask(
        chat,
        question=f"(The user sent the file {name}.)\n{content[:2000]}",
        prompt_content=_FILE_PROMPT.format(name=name, content=content),
        draft=draft,
    )


# --- asking the model ---------------------------------------------------------------------------
def _system_prompt(language: str) -> str:
    prompt = tunables.persona()
    if language:
        return f"{prompt}\nAlways answer in the language with the code {language!r}."
    return f"{prompt}\nAnswer in the language the user writes in."


def _ask(chat: _Chat, *, question: str, prompt_content, draft: Draft) -> Outcome:
    """Asks the model with the conversation's context; ``question`` is how the turn is remembered."""
    if chat.user is not None and tokens_used_today(line_user_id=chat.user.pk) >= tunables.daily_token_budget():
        return _outcome(chat, chat.say("over_budget"), [draft])
    context = context_load(chat.conversation.pk)
    messages = [{"role": "system", "content": _system_prompt(chat.language)}]
    messages += context.as_messages()
    messages.append({"role": "user", "content": prompt_content})
    settings = tunables.model_settings()
    tools = [tool for tool in [_web_search_tool()] if tool is not None]
    try:
        result = llm.get_llm_client().chat(
            messages,
            model=settings.model,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            tools=tools or None,
            user=_pseudonym(chat),
        )
    except LLMError as exc:
        log.warning("conversation_llm_failed", code=exc.code, status=exc.status)
        return _outcome(chat, chat.say("apology"), [draft])
    answer = result.text.strip()
    if not answer:
        return _outcome(chat, chat.say("apology"), [draft])
    user_turn = Draft(draft.role, draft.content, media_ref=draft.media_ref, context_text=question)
    reply = Draft(
        "assistant",
        answer,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        latency_ms=result.latency_ms,
        model=result.model,
        context_text=answer,
    )
    return _outcome(chat, text_messages(answer), [user_turn, reply])


def _web_search_tool():
    if not tunables.web_search_enabled():
        return None
    from core.search import web_search_tool

    return web_search_tool()


def _pseudonym(chat: _Chat) -> str | None:
    # The provider sees a stable pseudonym for abuse tracking, never the LINE user id.
    if chat.user is None:
        return None
    return hashlib.sha256(f"line:{chat.user.line_user_id}".encode()).hexdigest()[:32]


# --- splitting long answers ---------------------------------------------------------------------
MAX_MESSAGES = 5
MAX_UTF16_UNITS = 5000


def _utf16_len(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def split_text(value: str, *, max_units: int = MAX_UTF16_UNITS, max_messages: int = MAX_MESSAGES) -> list[str]:
    """At most ``max_messages`` pieces of at most ``max_units`` UTF-16 units, cut at line or word ends."""
    pieces: list[str] = []
    rest = value
    while rest and len(pieces) < max_messages:
        if _utf16_len(rest) <= max_units:
            pieces.append(rest)
            rest = ""
            break
        cut = _fit(rest, max_units)
        boundary = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
        if boundary > cut // 2:
            cut = boundary
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        ellipsis = "…"
        last = pieces[-1]
        pieces[-1] = last[: _fit(last, max_units - _utf16_len(ellipsis))] + ellipsis
    return [p for p in pieces if p]


def _fit(value: str, max_units: int) -> int:
    """How many characters of ``value`` fit in ``max_units`` UTF-16 units."""
    units = 0
    for index, char in enumerate(value):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > max_units:
            return index
    return len(value)


def text_messages(answer: str) -> list[dict]:
    return [{"type": "text", "text": piece} for piece in split_text(answer)]


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
