"""Where a line of rich-message text may break: between words, in every language the bot speaks.

Latin text breaks at spaces (and after the hyphen of a hyphenated word). Thai is written without spaces between
words, so a Thai run is cut into words by PyThaiNLP's dictionary segmenter ("newmm", dictionary bundled with
the package). Chinese and Japanese may break between any two characters, except where the kinsoku rules forbid
it: no line starts with closing punctuation, small kana or a prolonged sound mark (、。」ー っ), and none ends
with opening brackets or quotes (「『). The same rules keep "!" and "ๆ" on the line of the word before them.

:func:`chunks` gives the pieces between break opportunities; text_layout fills lines with them.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from dataclasses import dataclass

from richmessages.script import CJK, THAI, is_letter, is_mark, script_of

ZWSP = "\u200b"
ELLIPSIS = "\u2026"

# No line may start with these (JIS X 4051 line-start prohibitions, strict set, plus Latin closers, Thai
# repetition and abbreviation marks).
NO_LINE_START = frozenset(
    "、。，．・：；？！‼⁇⁈⁉ー－‐゠–—〜～…‥）」』】〉》〕］｝〙〗〟’”｠»›ゝゞヽヾ々〻"  # noqa: RUF001 - the real characters
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    ")]},.:;?!%‰℃°"
    "ๆฯ"
)
# No line may end with these: opening brackets and quotes.
NO_LINE_END = frozenset("（「『【〈《〔［｛〘〖〝‘“｟«‹([{")  # noqa: RUF001 - the real characters

# Spaces that join: a break never falls on them.
_NON_BREAKING_SPACES = frozenset("\u00a0\u202f\u2007")
# Thai vowels written before the consonant they follow in speech; a forced break never falls right after one.
_THAI_LEADING_VOWELS = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_]-)(?=[^\W\d_])")
_SPACES = re.compile(r" +")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Chunk:
    """Text between two break opportunities: a line holds whole chunks (a chunk wider than a line is split)."""

    text: str
    # A space separates it from the chunk before (drawn unless the line breaks there).
    space_before: bool = False
    # The text had a line break before it: the chunk starts a new line.
    newline_before: bool = False


def normalize(text: str) -> str:
    """The text as it is drawn: NFC, one space for any run of spaces, at most one blank line, no control or
    invisible formatting characters (zero-width space stays: it marks a break opportunity)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for char in text:
        if char in ("\n", ZWSP) or char in _NON_BREAKING_SPACES:
            kept.append(char)
        elif char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(char)
    lines = [_SPACES.sub(" ", line).strip(" " + ZWSP) for line in "".join(kept).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def chunks(text: str) -> list[Chunk]:
    """The normalized ``text`` as chunks, in order; breaks are allowed between any two of them."""
    result: list[Chunk] = []
    for number, paragraph in enumerate(normalize(text).split("\n")):
        newline = number > 0
        atoms = _atoms(paragraph)
        if not atoms:
            # A blank line keeps its place.
            if newline:
                result.append(Chunk("", newline_before=True))
            continue
        for index, (atom, space_before) in enumerate(atoms):
            joined = (
                index > 0 and not space_before and (atom[0] in NO_LINE_START or atoms[index - 1][0][-1] in NO_LINE_END)
            )
            if joined:
                last = result[-1]
                result[-1] = Chunk(last.text + atom, last.space_before, last.newline_before)
            else:
                result.append(Chunk(atom, space_before=space_before and index > 0, newline_before=newline))
            newline = False
    return result


def clusters(text: str) -> list[str]:
    """``text`` in the smallest pieces a forced break may separate: a character with its marks (a Thai
    consonant with its vowel and tone marks, a leading vowel with the consonant after it)."""
    result: list[str] = []
    for char in text:
        if result and (is_mark(char) or result[-1][-1] in _THAI_LEADING_VOWELS):
            result[-1] += char
        else:
            result.append(char)
    return result


def hyphenates(piece: str, rest: str) -> bool:
    """Whether a word forced apart between ``piece`` and ``rest`` shows a hyphen: between letters of an
    alphabet that uses one (not Thai, not CJK)."""
    last, first = piece[-1:], rest[:1]
    return bool(last and first and is_letter(last) and is_letter(first)) and script_of(last) not in (THAI, CJK)


def _atoms(paragraph: str) -> list[tuple[str, bool]]:
    """(text, space before) for each piece between break opportunities, before the kinsoku rules join some."""
    atoms: list[tuple[str, bool]] = []
    for word_number, spaced in enumerate(paragraph.split(" ")):
        for part_number, part in enumerate(spaced.split(ZWSP)):
            first = True
            for script, run in _script_runs(part):
                if script == THAI:
                    pieces = thai_words(run)
                elif script == CJK:
                    pieces = clusters(run)
                else:
                    pieces = [piece for piece in _HYPHEN_BREAK.split(run) if piece]
                for piece in pieces:
                    atoms.append((piece, first and part_number == 0 and word_number > 0))
                    first = False
    return atoms


def _script_runs(text: str) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for char in text:
        script = runs[-1][0] if runs and is_mark(char) else _run_script(char)
        if runs and runs[-1][0] == script:
            runs[-1] = (script, runs[-1][1] + char)
        else:
            runs.append((script, char))
    return runs


def _run_script(char: str) -> str:
    script = script_of(char)
    # Non-breaking spaces glue words like letters do.
    return "other" if script not in (THAI, CJK) else script


_segmenter_lock = threading.Lock()
_segment = None


def thai_words(text: str) -> list[str]:
    """Thai text cut into words by PyThaiNLP's newmm segmenter with its bundled dictionary."""
    global _segment
    if _segment is None:
        with _segmenter_lock:
            if _segment is None:
                # Read-only and offline: the segmenter uses the dictionary inside the package and must never
                # create a data directory in $HOME or download anything at run time.
                os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
                os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
                from pythainlp.tokenize import word_tokenize

                def segment(value: str) -> list[str]:
                    return word_tokenize(value, engine="newmm", keep_whitespace=False)

                segment("ก")  # builds the dictionary trie now, under the lock, not in two threads at once
                _segment = segment
    return [word for word in _segment(text) if word]
