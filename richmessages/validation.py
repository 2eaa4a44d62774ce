"""Checks of a template's text areas and copy. Each problem names the field it is about.

A text area is a dict with the box (``x``, ``y``, ``width``, ``height``, in pixels of the
background) and how its text is drawn (``font_min``, ``font_max``, ``color``,
``line_height``, and optionally ``overlay_color``, ``overlay_opacity``, ``stroke_width``,
``stroke_color``, ``shadow``). The box must lie inside the image.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_INT = "int"
_NUMBER = "number"
_COLOR_KIND = "color"
_BOOL = "bool"

REQUIRED_AREA_KEYS: dict[str, str] = {
    "x": _INT,
    "y": _INT,
    "width": _INT,
    "height": _INT,
    "font_min": _INT,
    "font_max": _INT,
    "color": _COLOR_KIND,
    "line_height": _NUMBER,
}
OPTIONAL_AREA_KEYS: dict[str, str] = {
    "overlay_color": _COLOR_KIND,
    "overlay_opacity": _NUMBER,
    "stroke_width": _INT,
    "stroke_color": _COLOR_KIND,
    "shadow": _BOOL,
}
# Inclusive bounds of the numbers that are not tied to the image size.
AREA_BOUNDS: dict[str, tuple[float, float]] = {
    "font_min": (8, 512),
    "font_max": (8, 512),
    "line_height": (0.8, 3.0),
    "overlay_opacity": (0.0, 1.0),
    "stroke_width": (0, 32),
}


def _kind_ok(value: Any, kind: str) -> bool:
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == _COLOR_KIND:
        return isinstance(value, str) and _COLOR.fullmatch(value) is not None
    return isinstance(value, bool)


_KIND_WORDS = {
    _INT: "a whole number",
    _NUMBER: "a number",
    _COLOR_KIND: "a colour like #FFFFFF",
    _BOOL: "true or false",
}


def text_area_problems(area: Any, *, image_width: int, image_height: int) -> list[str]:
    """What is wrong with ``area`` for an image of the given size; empty when nothing is."""
    if not isinstance(area, dict):
        return ["must be an object with x, y, width, height, font_min, font_max, color and line_height"]
    problems: list[str] = []
    known = {**REQUIRED_AREA_KEYS, **OPTIONAL_AREA_KEYS}
    unknown = sorted(str(key) for key in area if key not in known)
    if unknown:
        problems.append(f"unknown key(s): {', '.join(unknown)}")
    missing = [key for key in REQUIRED_AREA_KEYS if key not in area]
    if missing:
        problems.append(f"missing key(s): {', '.join(missing)}")
    for key, kind in known.items():
        if key in area and not _kind_ok(area[key], kind):
            problems.append(f"{key} must be {_KIND_WORDS[kind]}")
    if problems:
        return problems

    for key, (low, high) in AREA_BOUNDS.items():
        if key in area and not low <= area[key] <= high:
            problems.append(f"{key} must be between {low} and {high}")
    if area["font_min"] > area["font_max"]:
        problems.append("font_min must not be larger than font_max")
    x, y, width, height = area["x"], area["y"], area["width"], area["height"]
    if x < 0 or y < 0:
        problems.append("x and y must not be negative")
    if width < 1 or height < 1:
        problems.append("width and height must be at least 1")
    if x + width > image_width or y + height > image_height:
        problems.append(f"the box ({x}, {y}, {width}x{height}) must lie inside the {image_width}x{image_height} image")
    return problems


def text_is_storable(value: str) -> bool:
    """PostgreSQL stores no NUL character, and UTF-8 has no lone surrogates."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}


def grapheme_len(text: str) -> int:
    """About how many characters a reader sees: combining marks (Thai vowels and tone marks,
    Japanese voicing marks), variation selectors, emoji modifiers and joined emoji don't count."""
    count = 0
    joined = False
    for char in text:
        if joined:
            joined = False
            continue
        if char == "\u200d":
            joined = True
            continue
        if unicodedata.category(char).startswith("M") or char in _JOINERS or 0x1F3FB <= ord(char) <= 0x1F3FF:
            continue
        count += 1
    return count
