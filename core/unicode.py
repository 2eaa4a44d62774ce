"""Text length as LINE counts it (UTF-16 code units) and as people see it (grapheme clusters)."""

from __future__ import annotations

from functools import cache


@cache
def _graphemes():
    # The regex module takes longer to import than the rest of a management command's apps together.
    import regex

    return regex.compile(r"\X")


def utf16_len(value: str) -> int:
    """LINE's limits (5,000 per text message, mention indexes) count UTF-16 code units."""
    return len(value.encode("utf-16-le")) // 2


def utf16_fit(value: str, max_units: int) -> int:
    """How many characters of ``value`` fit in ``max_units`` UTF-16 units."""
    units = 0
    for index, char in enumerate(value):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > max_units:
            return index
    return len(value)


def utf16_cut(value: str, start: int, length: int) -> str:
    """``value`` without the ``length`` UTF-16 units that begin at unit ``start``."""
    units = value.encode("utf-16-le")
    return (units[: start * 2] + units[(start + length) * 2 :]).decode("utf-16-le", "replace")


def grapheme_len(value: str) -> int:
    """Characters as a reader sees them: extended grapheme clusters (a Thai consonant with its vowel
    and tone marks, a flag, an emoji with its modifiers each count once)."""
    return len(_graphemes().findall(value))


def grapheme_cut(value: str, max_graphemes: int, *, ellipsis: str = "…") -> str:
    """``value`` cut to at most ``max_graphemes`` grapheme clusters, never inside one; a cut text ends with
    ``ellipsis`` (counted in the limit)."""
    clusters = _graphemes().findall(value)
    if len(clusters) <= max_graphemes:
        return value
    if max_graphemes <= 0:
        return ""
    kept = max_graphemes - len(_graphemes().findall(ellipsis))
    if kept <= 0:
        return "".join(clusters[:max_graphemes])
    return "".join(clusters[:kept]).rstrip() + ellipsis
