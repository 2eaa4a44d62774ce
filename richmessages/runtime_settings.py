"""The runtime settings of rich messages: sending pace, and the persona and prompts of the AI copywriter.

The prompts take placeholders in braces, replaced before each request (an unknown one is left as written):
``{theme}``, ``{tone}``, ``{audience}``, ``{language}`` (code), ``{language_name}``, ``{title_max}``,
``{body_max}`` (the template version's limits, in characters as a reader sees them), ``{title_short}`` and
``{body_short}`` (about two thirds of them, for the stricter retry). The question a "Tell me more" tap asks
takes ``{title}`` and ``{body}`` of the message.
"""

from __future__ import annotations

from core.config.registry import Definition, register

COPY_PERSONA = (
    "You are the copywriter of a LINE Official Account. You write the title and the body of a rich message: a "
    "picture with a short title and a few words on it, sent to people who follow the account. Write warm, plain, "
    "natural sentences a native speaker would write. No hashtags, no links, no quotation marks around the text. "
    "Never invent prices, dates, offers, names or facts the brief does not give."
)

COPY_PROMPT = (
    "Write a rich message for readers of {language_name}.\n"
    "Theme: {theme}\n"
    "Tone: {tone}\n"
    "Audience: {audience}\n"
    "The title is at most {title_max} characters and the body at most {body_max} characters, counting each letter "
    "with its marks as one character. Answer with a JSON object only: "
    '{"title": "...", "body": "..."}, both in {language_name}.'
)

COPY_RETRY_PROMPT = (
    "Your last answer could not be used. Try again, shorter and strictly within the limits.\n"
    "Language: {language_name}. Theme: {theme}. Tone: {tone}.\n"
    "Title: at most {title_short} characters. Body: at most {body_short} characters, one or two short sentences.\n"
    'Answer with nothing but the JSON object {"title": "...", "body": "..."}.'
)

MORE_QUESTION = 'Tell me more about "{title}".'

register(
    Definition(
        "richmessages.cooldown_minutes",
        int,
        60,
        "Minimum minutes between two rich messages sent to the same user.",
        min_value=0,
        max_value=10_080,
    ),
    Definition(
        "richmessages.copy.persona",
        str,
        COPY_PERSONA,
        "System prompt of the AI copywriter that writes the title and body of rich messages.",
        max_length=4000,
    ),
    Definition(
        "richmessages.copy.prompt",
        str,
        COPY_PROMPT,
        "What the copywriter is asked for a message. Placeholders: {theme}, {tone}, {audience}, {language}, "
        "{language_name}, {title_max}, {body_max}.",
        max_length=4000,
    ),
    Definition(
        "richmessages.copy.retry_prompt",
        str,
        COPY_RETRY_PROMPT,
        "Asked once more when the first answer was unusable (not JSON, empty, too long). Also {title_short} and "
        "{body_short}: about two thirds of the limits.",
        max_length=4000,
    ),
    Definition(
        "richmessages.copy.temperature",
        float,
        0.8,
        "Sampling temperature of the copywriter's first answer (the retry uses at most 0.3).",
        min_value=0.0,
        max_value=2.0,
    ),
    Definition(
        "richmessages.copy.cache_hours",
        int,
        168,
        "Hours AI-written copy is reused for the same brief, template version and language; 0 never reuses it.",
        min_value=0,
        max_value=24 * 90,
    ),
    Definition(
        "richmessages.more.question",
        str,
        MORE_QUESTION,
        'The question a "Tell me more" tap asks the bot, with the message itself in the conversation before it. '
        "Placeholders: {title}, {body}.",
        max_length=1000,
    ),
)
