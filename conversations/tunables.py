"""The conversation tunables (persona, model settings, limits), read in one place.

Everything here is looked up on each call so that a change made at run time is
picked up without a restart.  What operators may change while the bot runs comes
from the runtime settings (:mod:`core.config`, whose defaults are the Django
settings); the rest is deployment configuration from Django settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core import config


@dataclass(frozen=True)
class ModelSettings:
    model: str | None
    temperature: float
    max_tokens: int


def persona() -> str:
    return config.get("persona")


def model_settings() -> ModelSettings:
    return ModelSettings(
        model=config.get("llm.model") or None,
        temperature=config.get("llm.temperature"),
        max_tokens=settings.CONVERSATION_MAX_TOKENS,
    )


def context_token_budget() -> int:
    return settings.CONVERSATION_CONTEXT_TOKENS


def context_ttl_seconds() -> int:
    return settings.CONVERSATION_CONTEXT_TTL


def daily_token_budget() -> int:
    return config.get("budget.daily_tokens")


def events_per_insert() -> int:
    """The most webhook events a web process writes in one statement (1: each on its own)."""
    return max(1, settings.CONVERSATION_EVENTS_PER_INSERT)


def messages_per_minute() -> int:
    return config.get("ratelimit.messages_per_minute")


def web_search_enabled() -> bool:
    return config.get("features.web_search")


def image_understanding_enabled() -> bool:
    return config.get("features.image_understanding")


def file_understanding_enabled() -> bool:
    return config.get("features.file_understanding")


def takeover_pause_minutes() -> int:
    return config.get("takeover.pause_minutes")


def group_prefixes() -> list[str]:
    return list(settings.CONVERSATION_GROUP_PREFIXES)


def reply_budget_seconds() -> float:
    """After this long the reply token is presumed stale and the answer is pushed."""
    return settings.CONVERSATION_REPLY_BUDGET_SECONDS


def image_max_side() -> int:
    return settings.CONVERSATION_IMAGE_MAX_SIDE


def file_max_bytes() -> int:
    return settings.CONVERSATION_FILE_MAX_BYTES


def file_max_chars() -> int:
    return settings.CONVERSATION_FILE_MAX_CHARS


def webhook_max_body_bytes() -> int:
    return settings.LINE_WEBHOOK_MAX_BODY_BYTES
