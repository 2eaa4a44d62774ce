"""Which writing system a character belongs to, as far as picking a font and breaking lines need to know."""

from __future__ import annotations

import bisect
import unicodedata

THAI = "thai"
CJK = "cjk"
LATIN = "latin"  # everything else: Latin, Greek, Cyrillic, digits, punctuation, symbols

# Han, kana, Hangul, bopomofo and their punctuation, symbols and full-width forms: what a CJK font draws.
_CJK_BLOCKS = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x2FF0, 0x2FFF),  # ideographic description characters
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。「」...)
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x31FF),  # bopomofo, Hangul compatibility jamo, kanbun, CJK strokes, katakana extensions
    (0x3200, 0x33FF),  # enclosed CJK letters, CJK compatibility
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3134F),  # CJK extensions B to G
)
_CJK_STARTS = [start for start, _ in _CJK_BLOCKS]


def script_of(char: str) -> str:
    code = ord(char)
    if 0x0E00 <= code <= 0x0E7F:
        return THAI
    index = bisect.bisect_right(_CJK_STARTS, code) - 1
    if index >= 0 and code <= _CJK_BLOCKS[index][1]:
        return CJK
    return LATIN


def is_mark(char: str) -> bool:
    """A combining mark: drawn on the character before it, never apart from it (Thai vowels and tones among them)."""
    return unicodedata.category(char) in ("Mn", "Mc", "Me")


def is_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L")
