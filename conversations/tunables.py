"""The conversation tunables (persona, model settings, limits), read in one place.

Everything here is looked up on each call so that a change made at run time is
picked up without a restart; today the values come from Django settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ModelSettings:
    model: str | None
    temperature: float
    max_tokens: int


def persona() -> str:
    return settings.CONVERSATION_PERSONA


def model_settings() -> ModelSettings:
    return ModelSettings(
        model=settings.CONVERSATION_MODEL or None,
        temperature=settings.CONVERSATION_TEMPERATURE,
        max_tokens=settings.CONVERSATION_MAX_TOKENS,
    )


def context_token_budget() -> int:
    return settings.CONVERSATION_CONTEXT_TOKENS


def context_ttl_seconds() -> int:
    return settings.CONVERSATION_CONTEXT_TTL


def daily_token_budget() -> int:
    return settings.CONVERSATION_DAILY_TOKEN_BUDGET


def messages_per_minute() -> int:
    return settings.CONVERSATION_MESSAGES_PER_MINUTE


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
