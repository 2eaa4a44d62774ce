"""The fonts of rich-message images, found by configuration and picked per character.

Settings name one fontconfig pattern per writing system (``RICHMESSAGES_FONT_LATIN="Noto Sans:bold"``,
``RICHMESSAGES_FONT_THAI``, ``RICHMESSAGES_FONT_CJK``); ``fc-match`` turns each into a font file, face index and
character set at first use, once per process. ``RICHMESSAGES_FONT_DIRS``, when set, makes fontconfig look in
those directories only, e.g. for fonts shipped with a deployment. No path is written into the code: a missing
family is a configuration error naming the setting, never a silent fallback to a font without the glyphs.

Each character is drawn with the font of its script (Thai, CJK, else Latin) when that font has it; marks stay
with the character before them; digits, spaces and punctuation keep the font around them. A character no
configured font has (an emoji) is left out rather than drawn as an empty box.
"""

from __future__ import annotations

import bisect
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from PIL import ImageFont, features

from core.errors import ConfigurationError
from core.lazy import ProcessWide
from richmessages.script import CJK, LATIN, THAI, is_letter, is_mark, script_of

logger = logging.getLogger(__name__)

SETTINGS = {LATIN: "RICHMESSAGES_FONT_LATIN", THAI: "RICHMESSAGES_FONT_THAI", CJK: "RICHMESSAGES_FONT_CJK"}
# Where a character is not in its own script's font, the others are tried in this order.
FALLBACK_ORDER = (LATIN, THAI, CJK)
# Text is measured once at this size and scaled: advances and outlines grow linearly with the size
# (Pillow lays out unhinted), so a word measured once serves every size the fitting tries.
REFERENCE_SIZE = 1000
_MEASURE_CACHE_LIMIT = 50_000
_FC_MATCH_TIMEOUT = 30


@dataclass(frozen=True)
class ResolvedFont:
    script: str
    setting: str
    pattern: str
    path: str
    index: int
    family: str
    # The code points the font draws, as sorted inclusive (first, last) ranges from fontconfig.
    ranges: tuple[tuple[int, int], ...]

    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_starts", tuple(first for first, _ in self.ranges))

    def covers(self, char: str) -> bool:
        code = ord(char)
        index = bisect.bisect_right(self._starts, code) - 1
        return index >= 0 and code <= self.ranges[index][1]


@dataclass(frozen=True)
class Extent:
    """Advance and ink box (left, top, right, bottom; y grows down from the baseline) of a text at a size."""

    advance: float
    left: float
    top: float
    right: float
    bottom: float

    def scaled(self, factor: float) -> Extent:
        return Extent(
            self.advance * factor, self.left * factor, self.top * factor, self.right * factor, self.bottom * factor
        )


class FontSet:
    """The resolved fonts with their Pillow objects and measurements, shared by every composition of a process.

    Pillow's font objects are used by one thread at a time under the GIL, which FreeType's faces require.
    """

    def __init__(self, fonts: dict[str, ResolvedFont]):
        self.fonts = fonts
        self._pillow: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}
        self._measures: dict[str, tuple[tuple[tuple[str, str, float], ...], Extent]] = {}
        self._spaces: dict[str, float] = {}
        self._lock = threading.Lock()

    def font(self, script: str, size: int) -> ImageFont.FreeTypeFont:
        key = (script, size)
        font = self._pillow.get(key)
        if font is None:
            resolved = self.fonts[script]
            # Raqm shapes the text (HarfBuzz): Thai vowels and tone marks stack and sit where they belong.
            font = ImageFont.truetype(resolved.path, size, index=resolved.index, layout_engine=ImageFont.Layout.RAQM)
            self._pillow[key] = font
        return font

    def runs(self, text: str) -> tuple[tuple[str, str], ...]:
        """``text`` cut into (script of the font, text) runs; characters no font has are left out."""
        scripts = self._scripts_per_char(text)
        runs: list[tuple[str, str]] = []
        dropped = []
        for char, script in zip(text, scripts, strict=True):
            if script is None:
                dropped.append(char)
            elif runs and runs[-1][0] == script:
                runs[-1] = (script, runs[-1][1] + char)
            else:
                runs.append((script, char))
        if dropped:
            logger.warning(
                "rich message text has characters no configured font draws; left out: %s",
                " ".join(f"U+{ord(char):04X}" for char in dropped),
            )
        return tuple(runs)

    def measure(self, text: str) -> tuple[tuple[tuple[str, str, float], ...], Extent]:
        """The (script, text, advance) runs of ``text`` and its extent, at :data:`REFERENCE_SIZE`; cached."""
        cached = self._measures.get(text)
        if cached is not None:
            return cached
        runs = []
        advance = 0.0
        left = top = right = bottom = None
        for script, run in self.runs(text):
            font = self.font(script, REFERENCE_SIZE)
            box = font.getbbox(run, anchor="ls")
            if box[2] > box[0] and box[3] > box[1]:
                left = box[0] + advance if left is None else min(left, box[0] + advance)
                top = box[1] if top is None else min(top, box[1])
                right = box[2] + advance if right is None else max(right, box[2] + advance)
                bottom = box[3] if bottom is None else max(bottom, box[3])
            run_advance = font.getlength(run)
            runs.append((script, run, run_advance))
            advance += run_advance
        # A text without ink (spaces) still advances the pen.
        extent = Extent(advance, 0.0, 0.0, 0.0, 0.0) if left is None else Extent(advance, left, top, right, bottom)
        result = (tuple(runs), extent)
        with self._lock:
            if len(self._measures) >= _MEASURE_CACHE_LIMIT:
                self._measures.clear()
            self._measures[text] = result
        return result

    def space_advance(self, script: str) -> float:
        """The width of a space in the font of ``script`` at :data:`REFERENCE_SIZE`."""
        advance = self._spaces.get(script)
        if advance is None:
            advance = self._spaces[script] = self.font(script, REFERENCE_SIZE).getlength(" ")
        return advance

    def _scripts_per_char(self, text: str) -> list[str | None]:
        fonts = self.fonts
        # The font of the next letter after each position, for punctuation that opens a word ("(", "「").
        next_letter: list[str | None] = [None] * len(text)
        upcoming: str | None = None
        for position in range(len(text) - 1, -1, -1):
            next_letter[position] = upcoming
            if is_letter(text[position]):
                upcoming = self._first_covering(text[position], script_of(text[position]))
        result: list[str | None] = []
        previous: str | None = None
        for position, char in enumerate(text):
            if is_mark(char):
                script = previous if previous is not None and fonts[previous].covers(char) else None
            elif is_letter(char):
                script = self._first_covering(char, script_of(char))
            else:
                # Digits, spaces, punctuation: the font of the text before them, so they match it; an opening
                # bracket or quote (or the text's first character) the font of the word it opens.
                opening = previous is None or unicodedata.category(char) in ("Ps", "Pi")
                candidates = (next_letter[position], previous) if opening else (previous,)
                script = next((c for c in candidates if c is not None and fonts[c].covers(char)), None)
                if script is None:
                    script = self._first_covering(char, LATIN)
            result.append(script)
            if script is not None:
                previous = script
        return result

    def _first_covering(self, char: str, preferred: str) -> str | None:
        for script in (preferred, *FALLBACK_ORDER):
            if self.fonts[script].covers(char):
                return script
        return None


def font_dirs() -> list[str]:
    return [str(directory) for directory in getattr(settings, "RICHMESSAGES_FONT_DIRS", []) or []]


def resolve_all() -> dict[str, ResolvedFont]:
    """Every configured font, resolved through fontconfig; raises ConfigurationError naming what is wrong."""
    dirs = font_dirs()
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        raise ConfigurationError(
            "fc-match (fontconfig) is not installed, so the fonts of rich-message images cannot be found; "
            "scripts/lib/fonts.sh installs it with the fonts."
        )
    for directory in dirs:
        if not Path(directory).is_dir():
            raise ConfigurationError(f"RICHMESSAGES_FONT_DIRS names {directory}, which is not a directory.")
    with tempfile.TemporaryDirectory(prefix="richmessages-fonts-") as scratch:
        env = dict(os.environ)
        if dirs:
            env["FONTCONFIG_FILE"] = _only_these_dirs_config(dirs, Path(scratch))
        return {
            script: _resolve(fc_match, script, setting, getattr(settings, setting, ""), env)
            for script, setting in SETTINGS.items()
        }


def _only_these_dirs_config(dirs: list[str], scratch: Path) -> str:
    entries = "".join(f"  <dir>{escape(str(Path(directory).resolve()))}</dir>\n" for directory in dirs)
    config = scratch / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        f"{entries}  <cachedir>{escape(str(scratch / 'cache'))}</cachedir>\n</fontconfig>\n"
    )
    return str(config)


def _resolve(fc_match: str, script: str, setting: str, pattern: str, env: dict[str, str]) -> ResolvedFont:
    if not isinstance(pattern, str) or not pattern.strip() or pattern.strip().startswith("-"):
        raise ConfigurationError(f'{setting} must name a font family, e.g. "Noto Sans:bold" (got {pattern!r}).')
    pattern = pattern.strip()
    try:
        completed = subprocess.run(  # noqa: S603 - fontconfig's own tool, the pattern is one argument
            [fc_match, "--format=%{file}\n%{index}\n%{family}\n%{charset}\n", pattern],
            capture_output=True,
            text=True,
            timeout=_FC_MATCH_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigurationError(f"fc-match failed for {setting}={pattern!r}: {error}") from error
    lines = completed.stdout.split("\n")
    if completed.returncode != 0 or len(lines) < 4 or not lines[0]:
        raise ConfigurationError(
            f"{setting}={pattern!r}: fc-match found no font ({completed.stderr.strip() or 'no output'})."
        )
    path, index, families, charset = lines[0], lines[1], lines[2], lines[3]
    wanted = {family.strip().casefold() for family in pattern.split(":", 1)[0].split(",")}
    offered = [family.strip() for family in families.split(",")]
    # fc-match always answers with its closest font; a different family would have none of the glyphs we need.
    if not wanted & {family.casefold() for family in offered}:
        where = " in RICHMESSAGES_FONT_DIRS" if "FONTCONFIG_FILE" in env else ""
        raise ConfigurationError(
            f"{setting}={pattern!r}: that font family is not installed{where} (fontconfig offers "
            f"{offered[0]!r} from {path} instead). Install it (scripts/lib/fonts.sh installs the default Noto "
            "fonts) or name an installed family."
        )
    return ResolvedFont(
        script=script,
        setting=setting,
        pattern=pattern,
        path=path,
        index=int(index or 0),
        family=offered[0],
        ranges=_parse_charset(charset),
    )


def _parse_charset(charset: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for item in charset.split():
        first, _, last = item.partition("-")
        ranges.append((int(first, 16), int(last or first, 16)))
    ranges.sort()
    return tuple(ranges)


def _build_font_set() -> FontSet:
    if not features.check("raqm"):
        raise ConfigurationError(
            "Pillow was built without Raqm; Thai and other complex scripts would be laid out wrongly."
        )
    fonts = resolve_all()
    for font in fonts.values():
        logger.info("rich message font %s=%r is %s (face %d)", font.setting, font.pattern, font.path, font.index)
    return FontSet(fonts)


_font_set = ProcessWide(_build_font_set, settings_prefixes=("RICHMESSAGES_FONT",))


def font_set() -> FontSet:
    """The process's fonts, resolved on first use; raises ConfigurationError when one is missing."""
    return _font_set.get()


def reset() -> None:
    """Forgets the resolved fonts (after fonts were installed); the next use resolves them again."""
    _font_set.reset()
