"""Talking with the model: the prompt, the user's token budget and the LLM call."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from conversations import tunables
from conversations.context import Context, context_load
from conversations.line_messages import text_messages
from conversations.models import Conversation, LineUser, WebhookEvent
from conversations.outcome import Draft, Outcome
from conversations.selectors import tokens_used_today
from conversations.texts import sentence_language, text
from core.errors import LLMError
from core.llm.client import get_llm_client
from core.logging import get_logger

log = get_logger(__name__)


@dataclass
class Chat:
    """One event's chat: who speaks, in which conversation, in which language."""

    event: WebhookEvent
    user: LineUser | None
    conversation: Conversation
    # Started by this event: it has no context to read yet.
    new_conversation: bool = False

    @property
    def language(self) -> str:
        return self.user.language if self.user else ""

    @property
    def language_chosen(self) -> bool:
        return bool(self.user and self.user.language_chosen)

    @property
    def sentence_language(self) -> str:
        """The language of the bot's own sentences for this event (see texts.sentence_language)."""
        if self.user is None:
            return ""
        return sentence_language(language=self.language, chosen=self.language_chosen, said=self.event.text)

    def outcome(self, messages: list[dict] | None, drafts: list[Draft] | None = None) -> Outcome:
        return Outcome(
            messages=messages,
            drafts=drafts or [],
            conversation=self.conversation,
            user=self.user,
            new_conversation=self.new_conversation,
        )

    def reply_text(self, reply: str, *, said: Draft | None = None) -> Outcome:
        """Answers with a fixed text; both sides go into the transcript, neither into the model's context."""
        drafts = [said] if said is not None else []
        drafts.append(Draft("assistant", reply))
        return self.outcome([{"type": "text", "text": reply}], drafts)

    def say(self, key: str, *, said: Draft | None = None, **values: str) -> Outcome:
        """Answers with one of the bot's own sentences (:mod:`conversations.texts`) in the user's language."""
        return self.reply_text(text(key, self.sentence_language, **values), said=said)


def system_prompt(language: str, *, chosen: bool = False) -> str:
    prompt = tunables.persona()
    if language and chosen:
        return f"{prompt}\nAlways answer in the language with the code {language!r}."
    if language:
        # The LINE app's language: a guess for a sticker or a photo, not a rule for a message in Thai.
        return (
            f"{prompt}\nAnswer in the language the user writes in; when that is unclear (a sticker or a photo"
            f" alone), answer in the language with the code {language!r}."
        )
    return f"{prompt}\nAnswer in the language the user writes in."


def ask(chat: Chat, *, question: str, prompt_content, draft: Draft, about_language: str = "") -> Outcome:
    """Asks the model with the conversation's context; ``question`` is how the turn is remembered.

    ``about_language`` is the language of what the user asks about when the bot wrote the question (a rich
    message they tapped): the answer is in it, unless the user chose a language with /lang.
    """
    if chat.user is not None:
        # A user seen for the first time by this event has used nothing yet: no need to add it up.
        used = 0 if chat.user.first_seen_now else tokens_used_today(line_user=chat.user)
        if used >= tunables.daily_token_budget():
            return chat.say("over_budget", said=draft)
    context = Context() if chat.new_conversation else context_load(chat.conversation.pk)
    language, chosen = chat.language, chat.language_chosen
    if about_language and not chosen:
        language, chosen = about_language, True
    messages = [{"role": "system", "content": system_prompt(language, chosen=chosen)}]
    messages += context.as_messages()
    messages.append({"role": "user", "content": prompt_content})
    model_settings = tunables.model_settings()
    tools = [tool for tool in [_web_search_tool()] if tool is not None]
    try:
        result = get_llm_client().chat(
            messages,
            model=model_settings.model,
            temperature=model_settings.temperature,
            max_tokens=model_settings.max_tokens,
            tools=tools or None,
            user=_pseudonym(chat),
        )
    except LLMError as exc:
        log.warning("conversation_llm_failed", code=exc.code, status=exc.status)
        return chat.say("apology", said=draft)
    # The client never returns an empty answer: it raises LLMError instead.
    answer = result.text.strip()
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
    return chat.outcome(text_messages(answer), [user_turn, reply])


def _web_search_tool():
    if not tunables.web_search_enabled():
        return None
    from core.llm.search import web_search_tool

    return web_search_tool()


def _pseudonym(chat: Chat) -> str | None:
    # The provider sees a stable pseudonym for abuse tracking, never the LINE user id.
    if chat.user is None:
        return None
    return hashlib.sha256(f"line:{chat.user.line_user_id}".encode()).hexdigest()[:32]
