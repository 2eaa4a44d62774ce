"""Taps on a rich message's buttons (``action=rich&m=<code>&b=<button>``), each recorded as an engagement event.

- **more** ("Tell me more") continues the conversation: what the message said goes into the conversation's context
  as the bot's turn, then the bot is asked a question about it (``richmessages.more.question``) through the same
  pipeline as a text, so the answer draws on the message and later questions remember it;
- **like** and **save** are recorded once per reader and acknowledged in the reader's language;
- **share** answers with a LINE share link (``https://line.me/R/share?text=…``, LINE's URL scheme for sending a
  text to friends) carrying the message's title, body and picture.

A tap on a message that no longer exists, or on a button it does not have, gets a polite answer, never an error.
"""

from __future__ import annotations

from urllib.parse import quote

from analytics.models import Event
from analytics.services import event_record
from conversations.chat import ask
from conversations.context import Turn, context_append, context_load
from conversations.outcome import Draft, Outcome
from conversations.postbacks import PostbackRequest, register
from conversations.texts import text
from core import config
from core.logging import get_logger
from core.unicode import grapheme_cut
from richmessages import flex, hosting
from richmessages.copywriting import fill_placeholders
from richmessages.message_services import rich_message_react
from richmessages.models import RichMessage

log = get_logger(__name__)

SHARE_URL = "https://line.me/R/share?text="
# The share link goes out in a text message (at most 5,000 UTF-16 units); a Thai letter takes nine when encoded.
SHARE_LINK_MAX = 4000
CODE_MAX = 16


def _message(code: str) -> RichMessage | None:
    if not code or len(code) > CODE_MAX:
        return None
    return RichMessage.objects.select_related("template_version").filter(code=code).first()


def _language(request: PostbackRequest, message: RichMessage | None) -> str:
    if request.user is not None and request.user.language:
        return request.user.language
    return message.language if message is not None else ""


def _say(key: str, language: str, **values: str) -> list[dict]:
    return [{"type": "text", "text": text(key, language, **values)}]


@register(flex.POSTBACK_ACTION)
def rich_tap(request: PostbackRequest) -> list[dict] | Outcome | None:
    code, button = request.params.get("m", ""), request.params.get("b", "")
    message = _message(code)
    known = message is not None and button in message.buttons
    props = {"code": code[:CODE_MAX]}
    if not known:
        props["unknown"] = True
    event_record(
        type=Event.Type.POSTBACK,
        line_user=request.user,
        rich_message=message,
        button=button,
        props=props,
    )
    language = _language(request, message)
    if not known:
        log.info("rich_message_tap_unknown", code=code[:CODE_MAX], button=button[:32])
        return _say("rich_message_gone", language)
    if button == "more":
        return _tell_more(request, message)
    if button in ("like", "save"):
        if request.user is not None:
            rich_message_react(message=message, line_user=request.user, kind=button)
        return _say("rich_liked" if button == "like" else "rich_saved", language)
    return _say("rich_share", language, link=share_link(message))


def _tell_more(request: PostbackRequest, message: RichMessage) -> Outcome:
    conversation_id = request.conversation.pk
    recalled = message.recalled_text
    # Once in the context is enough: a second tap (or a rerun of this one) finds it there.
    if not any(turn.role == "assistant" and turn.content == recalled for turn in context_load(conversation_id).turns):
        context_append(conversation_id, [Turn("assistant", recalled)])
    question = fill_placeholders(
        config.get("richmessages.more.question"), {"title": message.title, "body": message.body}
    )
    postback = request.event.payload.get("postback")
    shown = ""
    if isinstance(postback, dict):
        shown = str(postback.get("displayText") or "")
    said = Draft("user", shown or flex.label("more", message.language), media_ref=f"rich:{message.code}")
    # The question is the bot's own words: the answer is in the language of the message the user tapped.
    return ask(request.chat(), question=question, prompt_content=question, draft=said, about_language=message.language)


def share_link(message: RichMessage) -> str:
    """LINE's "send a text to friends" link, with the message's title, body and picture."""
    image_url = hosting.public_url(message.image.name)
    body = message.body
    while True:
        link = SHARE_URL + quote(f"{message.title}\n{body}\n{image_url}", safe="")
        if len(link) <= SHARE_LINK_MAX or not body:
            return link
        body = grapheme_cut(body, max(0, len(body) * 3 // 4))
