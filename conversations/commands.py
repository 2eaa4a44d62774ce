"""Slash commands a user can type: /help, /reset, /lang <code> or auto, and /stop and /start for campaign messages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from conversations.line_users import line_user_set_language, line_user_set_opt_out
from conversations.models import Conversation, LineUser
from conversations.services import conversation_reset
from conversations.texts import text

# BCP 47-ish: "en", "ja", "zh-TW", "pt-BR".
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_NAMES = {"en": "English", "ja": "日本語", "th": "ไทย", "zh": "中文", "ko": "한국어", "id": "Bahasa Indonesia"}


@dataclass(frozen=True)
class CommandResult:
    reply: str


def is_command(message: str) -> bool:
    return message.strip().startswith("/")


def command_run(*, message: str, user: LineUser | None, conversation: Conversation) -> CommandResult:
    name, _, argument = message.strip().partition(" ")
    name = name.lower()
    language = user.language if user else ""
    if name == "/help":
        return CommandResult(text("help", language))
    if name == "/reset":
        conversation_reset(conversation=conversation)
        return CommandResult(text("reset_done", language))
    if name == "/stop":
        if user is None:
            return CommandResult(text("unknown_command", language))
        line_user_set_opt_out(user=user, opted_out=True)
        return CommandResult(text("opted_out", language))
    if name == "/start":
        if user is None:
            return CommandResult(text("unknown_command", language))
        line_user_set_opt_out(user=user, opted_out=False)
        return CommandResult(text("opted_in", language))
    if name == "/lang":
        code = argument.strip()
        if code.lower() == "auto" and user is not None:
            line_user_set_language(user=user, language=None)
            return CommandResult(text("lang_auto", language))
        if not _LANGUAGE.match(code) or user is None:
            return CommandResult(text("lang_invalid", language))
        parts = code.split("-")
        code = parts[0].lower() + (f"-{parts[1].upper() if len(parts[1]) == 2 else parts[1]}" if len(parts) > 1 else "")
        line_user_set_language(user=user, language=code)
        return CommandResult(text("lang_set", code, language=_NAMES.get(parts[0].lower(), code)))
    return CommandResult(text("unknown_command", language))
