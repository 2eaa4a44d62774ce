"""Checks of a template's text areas and copy. Each problem names the field it is about.

A text area is a dict with the box (``x``, ``y``, ``width``, ``height``, in pixels of the
background) and how its text is drawn (``font_min``, ``font_max``, ``color``,
``line_height``, and optionally ``overlay_color``, ``overlay_opacity``, ``stroke_width``,
``stroke_color``, ``shadow``). The box must lie inside the image.
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.unicode import grapheme_len
from richmessages.layout import TextArea

__all__ = ["grapheme_len", "text_area_problems", "text_is_storable"]


def text_area_problems(area: Any, *, field: str, image_width: int, image_height: int) -> list[str]:
    """What is wrong with ``area`` for an image of the given size (the rules of :class:`TextArea`)."""
    try:
        TextArea.from_dict(area, field=field, image_size=(image_width, image_height))
    except ValidationError as exc:
        return [message for messages in (exc.details or {}).values() for message in messages] or [exc.message]
    return []


def text_is_storable(value: str) -> bool:
    """PostgreSQL stores no NUL character, and UTF-8 has no lone surrogates."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
