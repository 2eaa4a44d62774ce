"""Building LINE messages from the bot's answers, within LINE's limits.

LINE accepts at most five messages per reply or push and at most 5,000 UTF-16 code
units per text message; a longer answer is cut at line or word ends.
"""

from __future__ import annotations

from core.unicode import utf16_fit, utf16_len

MAX_MESSAGES = 5
MAX_UTF16_UNITS = 5000


def split_text(value: str, *, max_units: int = MAX_UTF16_UNITS, max_messages: int = MAX_MESSAGES) -> list[str]:
    """At most ``max_messages`` pieces of at most ``max_units`` UTF-16 units, cut at line or word ends."""
    pieces: list[str] = []
    rest = value
    while rest and len(pieces) < max_messages:
        if utf16_len(rest) <= max_units:
            pieces.append(rest)
            rest = ""
            break
        cut = utf16_fit(rest, max_units)
        boundary = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
        if boundary > cut // 2:
            cut = boundary
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        ellipsis = "…"
        last = pieces[-1]
        pieces[-1] = last[: utf16_fit(last, max_units - utf16_len(ellipsis))] + ellipsis
    return [p for p in pieces if p]


def text_messages(answer: str) -> list[dict]:
    return [{"type": "text", "text": piece} for piece in split_text(answer)]
