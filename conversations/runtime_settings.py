"""The runtime settings of conversations: persona, model, budgets and features, changed in the ops console."""

from __future__ import annotations

from django.conf import settings

from core.config.registry import Definition, from_settings, register


def _default_model() -> str:
    if settings.CONVERSATION_MODEL:
        return settings.CONVERSATION_MODEL
    if settings.LLM_PROVIDER == "azure" and settings.AZURE_OPENAI_DEPLOYMENT:
        return settings.AZURE_OPENAI_DEPLOYMENT
    return settings.OPENAI_MODEL


def _allowed_models() -> list[str]:
    return list(settings.LLM_ALLOWED_MODELS)


register(
    Definition(
        "persona",
        str,
        from_settings("CONVERSATION_PERSONA"),
        "System prompt that sets the bot's persona for every conversation.",
        max_length=4000,
    ),
    Definition(
        "llm.model",
        str,
        _default_model,
        "Model (or Azure deployment) that answers users. Allowed values come from LLM_ALLOWED_MODELS.",
        critical=True,
        choices=_allowed_models,
    ),
    Definition(
        "llm.temperature",
        float,
        from_settings("CONVERSATION_TEMPERATURE"),
        "Sampling temperature of the model's answers.",
        min_value=0.0,
        max_value=2.0,
    ),
    Definition(
        "ratelimit.messages_per_minute",
        int,
        from_settings("CONVERSATION_MESSAGES_PER_MINUTE"),
        "Messages one LINE user may send per minute before the bot asks them to slow down.",
        critical=True,
        min_value=1,
        max_value=600,
    ),
    Definition(
        "budget.daily_tokens",
        int,
        from_settings("CONVERSATION_DAILY_TOKEN_BUDGET"),
        "Model tokens one LINE user may spend per day; 0 turns model answers off.",
        critical=True,
        min_value=0,
    ),
    Definition("features.web_search", bool, False, "Let the model search the web while answering."),
    Definition("features.image_understanding", bool, True, "Let the model look at images users send."),
    Definition("features.file_understanding", bool, True, "Let the model read files (PDF, Word, text) users send."),
    Definition(
        "takeover.pause_minutes",
        int,
        30,
        "How long an operator's takeover keeps the bot silent for that user, unless handed back sooner; "
        "each operator message starts the time again.",
        min_value=1,
        max_value=24 * 60,
    ),
)

# Personal data: how long what users said is kept (0 keeps it for ever); see docs/PRIVACY.md.
register(
    Definition(
        "retention.message_text_days",
        int,
        from_settings("RETENTION_MESSAGE_TEXT_DAYS"),
        "Days a message's text is kept; older texts are blanked (the row stays counted). 0 keeps them.",
        critical=True,
        min_value=0,
    ),
    Definition(
        "retention.webhook_payload_days",
        int,
        from_settings("RETENTION_WEBHOOK_PAYLOAD_DAYS"),
        "Days the body of a handled webhook event is kept; older bodies are dropped. 0 keeps them.",
        critical=True,
        min_value=0,
    ),
    Definition(
        "retention.drop_texts_on_block",
        bool,
        from_settings("RETENTION_DROP_TEXTS_ON_BLOCK"),
        "When a user blocks the account, blank their message texts and forget their conversation context.",
        critical=True,
    ),
)
