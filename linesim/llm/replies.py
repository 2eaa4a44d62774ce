"""What the LLM double answers: a pure function of the request, so tests can predict it.

Every ordinary answer reads like a short assistant reply that says a local double
answered; it never repeats the system prompt or the instructions the bot wraps around
what a user sent. The rules, applied to the request's ``messages`` (and ``tools``):

1. **After a tool result** (the last message has role ``tool``): ``<INTRO> Here is what
   <tool name> found: <tool output>`` (several trailing tool messages are joined with `` | ``).
2. **A tool call**: when the last user text starts with ``search:``, a function named
   ``web_search`` is offered and ``tool_choice`` is not ``"none"``, the answer is a call of
   ``web_search`` with ``{"query": "<the text after search:, stripped>"}`` and finish reason
   ``tool_calls``.
3. **A long answer**: a last user text ``long: <n>`` gives ``n`` characters (at most 100,000)
   of a repeated pangram, for tests of message splitting.
4. **A JSON answer**: with ``response_format`` of type ``json_schema``, an object of that schema (see
   :func:`structured_answer`); of type ``json_object``, ``{"answer": <the answer of rule 5>}``.
5. **Otherwise** the answer acknowledges the last user message:

   - with ``n`` > 0 image parts: ``<INTRO> I received your picture, but I cannot look at it.``
     (``your <n> pictures`` for more than one); the text beside the pictures is the bot's
     instruction, not the user's words, and is not repeated;
   - a text of one line and at most ``QUOTE_MAX`` characters: ``<INTRO> You wrote: “<text>”``;
   - any other text (a document with the bot's instructions around it, say):
     ``<INTRO> I received your message of <n> characters.``

   The user text is the text parts joined by a space, stripped.

``INTRO`` is ``This is the local LLM double, not a real model.``

**Language:** when a system (or developer) message contains ``answer in <code>`` or
``answer in the language with the code <code>`` (any case, the code optionally quoted and
ending the clause, e.g. ``Answer in ja.``), the answer of rules 1, 3 and 4 starts with
``[<code>] ``; the last such hint wins. A JSON answer is written in the hinted language instead (see
:data:`SAMPLE_TEXTS`), without the prefix. Where the hint's own sentence first says to answer in ``the language
the user writes in``, the code is only a fallback: the prefix is the language of the last user message's
script (Thai → ``th``, kana → ``ja``, Hangul → ``ko``, Latin letters and no other letters → ``en``), and the
fallback code when it has none of these (a sticker, digits, Han characters alone) or has pictures.

**Tokens:** the answer streams one token per chunk, a token being a word with the whitespace
after it.  ``completion_tokens`` is that count (a tool call counts as 1 per 4 characters of its
arguments, at least 1); ``prompt_tokens`` is, per message, 4 + ceil(characters / 4) of its
text + 85 per image.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

# "Answer in ja." or "Always answer in the language with the code 'ja'": the code must end
# the clause, so "Answer in the language the user writes in" is no hint.
LANGUAGE_HINT = re.compile(
    r"\banswer in (?:the language with the code\s+)?['\"]?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)['\"]?"
    r"(?=\s*(?:$|[.,;:!?)\n]))",
    re.IGNORECASE,
)
# "Answer in the language the user writes in; when that is unclear, answer in the language with the code 'th'."
_WRITTEN_LANGUAGE = re.compile(r"\bthe language the user writes in\b", re.IGNORECASE)
# Scripts that tell a language apart on their own, in the order they are looked for.
_SCRIPTS = (
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
)
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_TOKEN = re.compile(r"\S+\s*|\s+")
_LONG = re.compile(r"^long:\s*(\d+)\s*$", re.IGNORECASE)
_PANGRAM = "The quick brown fox jumps over the lazy dog. "
MAX_LONG_ANSWER = 100_000
IMAGE_TOKENS = 85
INTRO = "This is the local LLM double, not a real model."
# Longer or multi-line texts are not quoted back: they are documents or the bot's own instructions.
QUOTE_MAX = 200


@dataclass(frozen=True)
class ToolCallPlan:
    name: str
    arguments: str


@dataclass(frozen=True)
class Reply:
    text: str | None
    tool_call: ToolCallPlan | None = None

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_call else "stop"


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def images_in(content) -> int:
    if isinstance(content, list):
        return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return 0


def language_hint(messages: list[dict]) -> str | None:
    hint, fallback_only = None, False
    for message in messages:
        if message.get("role") in ("system", "developer"):
            content = text_of(message.get("content"))
            found = list(LANGUAGE_HINT.finditer(content))
            if found:
                hint = found[-1].group(1)
                # A fallback when the same sentence first asks for the user's own language.
                at = found[-1].start()
                sentence_start = max(content.rfind(".", 0, at), content.rfind("\n", 0, at)) + 1
                fallback_only = _WRITTEN_LANGUAGE.search(content, sentence_start, at) is not None
    if hint and fallback_only:
        users = [m for m in messages if m.get("role") == "user"]
        last = users[-1].get("content") if users else ""
        # Beside pictures the text is the bot's instruction (rule 5): the user wrote nothing.
        return (None if images_in(last) else written_language(text_of(last))) or hint
    return hint


def written_language(text: str) -> str | None:
    """The language a text's script gives away, if it does (see the module's rules)."""
    for code, script in _SCRIPTS:
        if script.search(text):
            return code
    letters = _LETTER.findall(text)
    if letters and all(_LATIN_LETTER.match(letter) for letter in letters):
        return "en"
    return None


def _offers(tools: list[dict] | None, tool_choice, name: str) -> bool:
    if not tools or tool_choice == "none":
        return False
    return any((t.get("function") or {}).get("name") == name for t in tools)


def _tool_names_by_call_id(messages: list[dict]) -> dict[str, str]:
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            names[call.get("id")] = (call.get("function") or {}).get("name", "tool")
    return names


def plan_reply(
    messages: list[dict], tools: list[dict] | None = None, tool_choice=None, response_format: dict | None = None
) -> Reply:
    lang = language_hint(messages)
    prefix = f"[{lang}] " if lang else ""

    trailing_tools = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing_tools.insert(0, message)
    if trailing_tools:
        names = _tool_names_by_call_id(messages)
        name = names.get(trailing_tools[0].get("tool_call_id"), "tool")
        outputs = " | ".join(text_of(m.get("content")) for m in trailing_tools)
        return Reply(f"{prefix}{INTRO} Here is what {name} found: {outputs}")

    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    text = text_of(last_user.get("content")) if last_user else ""
    images = images_in(last_user.get("content")) if last_user else 0

    if text.lower().startswith("search:") and _offers(tools, tool_choice, "web_search"):
        query = text[len("search:") :].strip()
        return Reply(None, ToolCallPlan("web_search", json.dumps({"query": query}, ensure_ascii=False)))

    long = _LONG.match(text.strip())
    if long:
        size = min(int(long.group(1)), MAX_LONG_ANSWER)
        body = (_PANGRAM * (size // len(_PANGRAM) + 1))[:size]
        return Reply(prefix + body)

    answer = f"{prefix}{INTRO} {acknowledgement(text, images)}"
    kind = (response_format or {}).get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return Reply(json.dumps(structured_answer(schema, lang), ensure_ascii=False))
    if kind == "json_object":
        return Reply(json.dumps({"answer": answer}, ensure_ascii=False))
    return Reply(answer)


# What the double writes into the text fields of a JSON answer, in the hinted language (English without a hint):
# the n-th text field gets the n-th phrase, shortest first, cut to the field's maxLength when the schema gives one.
SAMPLE_TEXTS = {
    "en": (
        "A fresh start",
        "Take a few quiet minutes for yourself today. Small steps add up to big changes.",
    ),
    "th": (
        "เริ่มต้นวันใหม่",
        "ให้เวลากับตัวเองสักครู่ในวันนี้ ก้าวเล็ก ๆ พาไปสู่การเปลี่ยนแปลงที่ยิ่งใหญ่",
    ),
    "ja": (
        "新しい一日のはじまり",
        "今日は自分のために少しだけ時間を使いましょう。小さな一歩が大きな変化につながります。",
    ),
    "zh": (
        "嶄新的一天",
        "今天給自己幾分鐘安靜的時間，小小的步伐也能帶來大大的改變。",  # noqa: RUF001 - Chinese punctuation
    ),
}


def structured_answer(schema: dict, lang: str | None) -> object:
    """A value of ``schema`` (objects, arrays, strings, numbers, booleans, enums), the same for the same request."""
    phrases = SAMPLE_TEXTS.get((lang or "en").replace("_", "-").split("-")[0].lower(), SAMPLE_TEXTS["en"])
    counter = [0]

    def value(node: object) -> object:
        node = node if isinstance(node, dict) else {}
        if isinstance(node.get("enum"), list) and node["enum"]:
            return node["enum"][0]
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            properties = node.get("properties") or {}
            return {name: value(child) for name, child in properties.items()}
        if kind == "array":
            return [value(node.get("items")) for _ in range(int(node.get("minItems") or 0))]
        if kind == "string":
            text = phrases[min(counter[0], len(phrases) - 1)]
            counter[0] += 1
            limit = node.get("maxLength")
            return text[:limit] if isinstance(limit, int) and limit >= 0 else text
        if kind == "integer":
            return int(node.get("minimum") or 0)
        if kind == "number":
            return float(node.get("minimum") or 0)
        if kind == "boolean":
            return False
        return None

    return value(schema)


def acknowledgement(text: str, images: int) -> str:
    """What the double says it received, without repeating instructions the bot wrapped around it."""
    if images == 1:
        return "I received your picture, but I cannot look at it."
    if images > 1:
        return f"I received your {images} pictures, but I cannot look at them."
    text = text.strip()
    if not text:
        return "I received an empty message."
    if "\n" not in text and len(text) <= QUOTE_MAX:
        return f"You wrote: “{text}”"
    return f"I received your message of {len(text)} characters."


def split_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def completion_tokens(reply: Reply) -> int:
    if reply.tool_call:
        return max(1, math.ceil(len(reply.tool_call.arguments) / 4))
    return len(split_tokens(reply.text or ""))


def prompt_tokens(messages: list[dict]) -> int:
    total = 0
    for message in messages:
        text = text_of(message.get("content"))
        total += 4 + math.ceil(len(text) / 4) + IMAGE_TOKENS * images_in(message.get("content"))
    return total
