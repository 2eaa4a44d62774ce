# ruff: noqa: RUF001 - Japanese and Chinese copy is written with its own punctuation
"""The title and body of a rich message, written by the AI from a brief, within the template's limits.

::

    copy = copy_write(version=version, language="th", brief={"theme": "rainy season", "tone": "caring"})
    copy.title, copy.body, copy.source   # source: a RichMessage.CopySource value

The limits are the template version's ``title_max_chars`` and ``body_max_chars``, counted as readers see
characters (grapheme clusters: a Thai consonant with its vowel and tone marks is one). Tiers, first usable wins:

1. the AI, asked with the persona and prompt of the runtime settings for a JSON object ``{"title", "body"}``;
2. the AI again, stricter and shorter (the retry prompt, a lower temperature), when the first answer was unusable
   (not JSON, empty, over a limit) or refused; not after an outage, which a second ask would only prolong;
3. the curated copy people wrote on the template (``curated_copy[language]``), a missing part from tier 4;
4. a safe default in the language (Thai, Japanese, English, Chinese), cut to the limits.

A message is never held up by the AI: every failure of the model ends in tier 3 or 4. AI-written copy is cached
(Django's cache) by brief, template version, language and the prompts' text, for ``richmessages.copy.cache_hours``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from core import config
from core.errors import LLMError, ValidationError
from core.llm.client import get_llm_client
from core.logging import get_logger
from core.unicode import grapheme_cut, grapheme_len
from richmessages.models import RichMessage, RichTemplateVersion
from richmessages.validation import text_is_storable

log = get_logger(__name__)

Source = RichMessage.CopySource

LANGUAGES = {"th": "Thai", "ja": "Japanese", "en": "English", "zh": "Chinese"}
BRIEF_FIELDS = {"theme": 200, "tone": 100, "audience": 200}
CACHE_PREFIX = "richcopy:v1:"
RETRY_TEMPERATURE = 0.3
# Of the limits: what the stricter retry asks for, so that an answer a little too long still fits.
RETRY_SHARE = 2 / 3

DEFAULT_COPY = {
    "en": ("Something for you today", "Thank you for being with us. Tap below to find out more."),
    "th": ("วันนี้มีเรื่องดี ๆ มาฝาก", "ขอบคุณที่อยู่กับเราเสมอ แตะด้านล่างเพื่อดูรายละเอียดเพิ่มเติม"),
    "ja": ("今日のお知らせ", "いつもありがとうございます。下のボタンから詳しくご覧いただけます。"),
    "zh": ("今天的小驚喜", "感謝你一直以來的支持，點選下方按鈕了解更多。"),
}

COPY_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "rich_message_copy",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "description": "The title, short."},
                "body": {"type": "string", "description": "The body: one to three short sentences."},
            },
            "required": ["title", "body"],
            "additionalProperties": False,
        },
    },
}

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Copy:
    title: str
    body: str
    source: str


class UnusableCopyError(Exception):
    """The model's answer is not a title and body within the limits; the message says why."""


# --- input --------------------------------------------------------------------------------------
def language_clean(language: Any, *, field: str = "language") -> str:
    if not isinstance(language, str) or language not in LANGUAGES:
        message = f"must be one of {', '.join(LANGUAGES)}"
        raise ValidationError(f"{field}: {message}", details={field: [message]})
    return language


def brief_clean(brief: Any) -> dict[str, str]:
    """The brief as stored: ``theme``, ``tone``, ``audience``, each optional text. Raises ValidationError."""
    if brief is None:
        return {}
    if not isinstance(brief, dict):
        raise ValidationError("brief: must be an object", details={"brief": ["must be an object"]})
    problems: dict[str, list[str]] = {}
    unknown = sorted(str(key) for key in brief if key not in BRIEF_FIELDS)
    if unknown:
        problems["brief"] = [f"unknown key(s) {', '.join(unknown)}; expected some of {', '.join(BRIEF_FIELDS)}"]
    cleaned = {}
    for key, limit in BRIEF_FIELDS.items():
        if key not in brief:
            continue
        value = brief[key]
        if not isinstance(value, str) or not text_is_storable(value):
            problems.setdefault(f"brief.{key}", []).append("must be text")
            continue
        value = " ".join(value.split())
        if grapheme_len(value) > limit:
            problems.setdefault(f"brief.{key}", []).append(f"must be at most {limit} characters")
        elif value:
            cleaned[key] = value
    if problems:
        raise ValidationError("; ".join(f"{k}: {v[0]}" for k, v in problems.items()), details=problems)
    return cleaned


# --- checking an answer -------------------------------------------------------------------------
def title_clean(title: str) -> str:
    return " ".join(title.split())


def body_clean(body: str) -> str:
    lines = [" ".join(line.split()) for line in body.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def parse_answer(text: str, *, title_max: int, body_max: int) -> tuple[str, str]:
    """The title and body in the model's answer, checked; raises UnusableCopyError saying what is wrong."""
    text = _FENCE.sub("", text.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise UnusableCopyError("no JSON object in the answer")
    try:
        data = json.loads(text[start : end + 1])
    except (ValueError, RecursionError) as exc:
        raise UnusableCopyError(f"the JSON does not parse ({exc})"[:200]) from None
    if not isinstance(data, dict):
        raise UnusableCopyError("the JSON is not an object")
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not isinstance(body, str):
        raise UnusableCopyError("title and body must both be text")
    title, body = title_clean(title), body_clean(body)
    for name, value, limit in (("title", title, title_max), ("body", body, body_max)):
        if not value:
            raise UnusableCopyError(f"the {name} is empty")
        if not text_is_storable(value):
            raise UnusableCopyError(f"the {name} has a character that cannot be stored")
        if grapheme_len(value) > limit:
            raise UnusableCopyError(f"the {name} has {grapheme_len(value)} characters; at most {limit}")
    return title, body


# --- the tiers ----------------------------------------------------------------------------------
def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """Placeholders replaced; an unknown one, or braces that are not one, stay as written."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def _values(version: RichTemplateVersion, language: str, brief: dict[str, str]) -> dict[str, str]:
    return {
        "theme": brief.get("theme") or version.theme or "anything that brightens the reader's day",
        "tone": brief.get("tone") or version.mood or "friendly",
        "audience": brief.get("audience") or "people who follow the account",
        "language": language,
        "language_name": LANGUAGES[language],
        "title_max": str(version.title_max_chars),
        "body_max": str(version.body_max_chars),
        "title_short": str(max(1, int(version.title_max_chars * RETRY_SHARE))),
        "body_short": str(max(1, int(version.body_max_chars * RETRY_SHARE))),
    }


def _prompts() -> tuple[str, str, str]:
    return (
        config.get("richmessages.copy.persona"),
        config.get("richmessages.copy.prompt"),
        config.get("richmessages.copy.retry_prompt"),
    )


def _cache_key(version: RichTemplateVersion, language: str, brief: dict[str, str], prompts: tuple) -> str:
    material = json.dumps(
        {"brief": brief, "version": version.pk, "language": language, "prompts": prompts},
        sort_keys=True,
        ensure_ascii=False,
    )
    return CACHE_PREFIX + hashlib.sha256(material.encode()).hexdigest()


def _ask(messages: list[dict], *, temperature: float, version: RichTemplateVersion) -> str:
    # Thai and Japanese take one to three tokens a character; the answer is the JSON around the copy.
    max_tokens = min(4000, 100 + 3 * (version.title_max_chars + version.body_max_chars))
    result = get_llm_client().chat(
        messages,
        model=config.get("llm.model") or None,
        temperature=temperature,
        max_tokens=max_tokens,
        response_format=COPY_SCHEMA,
    )
    return result.text


def _from_ai(version: RichTemplateVersion, language: str, brief: dict[str, str], prompts: tuple) -> Copy | None:
    persona, prompt, retry_prompt = prompts
    values = _values(version, language, brief)
    system = {"role": "system", "content": f"{persona}\nAlways answer in the language with the code {language!r}."}
    limits = {"title_max": version.title_max_chars, "body_max": version.body_max_chars}
    temperature = config.get("richmessages.copy.temperature")
    tiers = (
        (Source.AI, fill_placeholders(prompt, values), temperature),
        (Source.AI_RETRY, fill_placeholders(retry_prompt, values), min(temperature, RETRY_TEMPERATURE)),
    )
    for source, asked, tier_temperature in tiers:
        messages = [system, {"role": "user", "content": asked}]
        try:
            title, body = parse_answer(_ask(messages, temperature=tier_temperature, version=version), **limits)
        except UnusableCopyError as exc:
            log.info("rich_copy_unusable", tier=source, reason=str(exc), version=version.pk, language=language)
            continue
        except LLMError as exc:
            log.warning("rich_copy_llm_failed", tier=source, code=exc.code, retryable=exc.retryable)
            if exc.retryable:
                return None
            continue
        return Copy(title=title, body=body, source=source)
    return None


def _curated(version: RichTemplateVersion, language: str) -> dict[str, str]:
    copy = version.curated_copy if isinstance(version.curated_copy, dict) else {}
    entry = copy.get(language)
    if entry is None:
        # Copy kept under a regional code (zh-TW) serves the language too.
        entry = next((v for k, v in sorted(copy.items()) if str(k).split("-")[0].lower() == language), None)
    return entry if isinstance(entry, dict) else {}


def fallback_copy(version: RichTemplateVersion, language: str) -> Copy:
    """Tiers 3 and 4: the template's curated copy, the safe default for what it lacks, within the limits."""
    curated = _curated(version, language)
    default_title, default_body = DEFAULT_COPY[language]
    parts = {}
    source = Source.DEFAULT
    for part, default, limit, clean in (
        ("title", default_title, version.title_max_chars, title_clean),
        ("body", default_body, version.body_max_chars, body_clean),
    ):
        text = curated.get(part)
        text = clean(text) if isinstance(text, str) and text_is_storable(text) else ""
        if text and grapheme_len(text) <= limit:
            parts[part] = text
            source = Source.CURATED
        else:
            parts[part] = grapheme_cut(default, limit)
    return Copy(title=parts["title"], body=parts["body"], source=source)


def copy_write(*, version: RichTemplateVersion, language: str, brief: dict | None) -> Copy:
    """The copy of a message in ``language`` from ``brief``: the AI's, or the fallback; never raises for the AI."""
    language = language_clean(language)
    brief = brief_clean(brief)
    prompts = _prompts()
    key = _cache_key(version, language, brief, prompts)
    cached = _cached(key, version)
    if cached is not None:
        return cached
    copy = _from_ai(version, language, brief, prompts)
    if copy is None:
        copy = fallback_copy(version, language)
        log.info("rich_copy_fallback", source=copy.source, version=version.pk, language=language)
        return copy
    hours = config.get("richmessages.copy.cache_hours")
    if hours:
        try:
            cache.set(key, {"title": copy.title, "body": copy.body, "source": copy.source}, timeout=hours * 3600)
        except Exception:  # the copy is written; a cache that is down only costs the next ask
            log.warning("rich_copy_cache_unavailable", exc_info=True)
    return copy


def _cached(key: str, version: RichTemplateVersion) -> Copy | None:
    if not config.get("richmessages.copy.cache_hours"):
        return None
    try:
        stored = cache.get(key)
    except Exception:  # without the cache the AI is asked again
        log.warning("rich_copy_cache_unavailable", exc_info=True)
        return None
    if not isinstance(stored, dict):
        return None
    title, body, source = stored.get("title"), stored.get("body"), stored.get("source")
    if not isinstance(title, str) or not isinstance(body, str) or source not in (Source.AI, Source.AI_RETRY):
        return None
    if not 0 < grapheme_len(title) <= version.title_max_chars or not 0 < grapheme_len(body) <= version.body_max_chars:
        return None
    return Copy(title=title, body=body, source=source)
