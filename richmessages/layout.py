"""The text areas of a rich template: where its title and body go on the background, and how they look.

A template version stores each area as a JSON object (``title_area``, ``body_area``)::

    {"x": 250, "y": 200, "width": 550, "height": 180,     # the box, in pixels of the background
     "font_min": 42, "font_max": 64,                      # text shrinks from font_max down to font_min to fit
     "color": "#FFFFFF", "line_height": 1.3,              # baseline to baseline, in font sizes
     "overlay_color": "#6A5ACD", "overlay_opacity": 0.7,  # optional: a tinted box behind the text
     "stroke_width": 2, "stroke_color": "#000000",        # optional: an outline around each glyph
     "shadow": true}                                      # optional: a soft drop shadow

:meth:`TextArea.from_dict` checks all of it against the background's size and reports every problem at once,
each named by its field (``title_area.width``), so an editor can fix a template in one go.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError

FONT_SIZE_MIN = 8
FONT_SIZE_MAX = 400
LINE_HEIGHT_MIN = 1.0
LINE_HEIGHT_MAX = 3.0
STROKE_WIDTH_MAX = 20
OVERLAY_OPACITY_DEFAULT = 0.6
STROKE_COLOR_DEFAULT = "#000000"

REQUIRED_KEYS = ("x", "y", "width", "height", "font_min", "font_max", "color", "line_height")
OPTIONAL_KEYS = ("overlay_color", "overlay_opacity", "stroke_width", "stroke_color", "shadow")

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


def parse_color(value: str) -> tuple[int, int, int]:
    """``"#RRGGBB"`` as an (r, g, b) tuple; the value must have passed :meth:`TextArea.from_dict`."""
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@dataclass(frozen=True)
class TextArea:
    x: int
    y: int
    width: int
    height: int
    font_min: int
    font_max: int
    color: str
    line_height: float
    overlay_color: str | None = None
    overlay_opacity: float = OVERLAY_OPACITY_DEFAULT
    stroke_width: int = 0
    stroke_color: str = STROKE_COLOR_DEFAULT
    shadow: bool = False

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), right and bottom exclusive, as Pillow takes boxes."""
        return self.x, self.y, self.x + self.width, self.y + self.height

    @classmethod
    def from_dict(cls, data: Any, *, field: str, image_size: tuple[int, int]) -> TextArea:
        """Validates one area of a template whose background is ``image_size`` (width, height) pixels.

        Raises :class:`core.errors.ValidationError` listing every problem, each under its field name
        (``f"{field}.{key}"``) in ``details``.
        """
        problems = _Problems(field)
        if not isinstance(data, dict):
            problems.add(None, f"{field} must be an object with the keys {', '.join(REQUIRED_KEYS)}.")
            problems.raise_if_any()
        for key in sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS)):
            problems.add(key, f"{field}.{key} is not a known key.")
        for key in REQUIRED_KEYS:
            if key not in data:
                problems.add(key, f"{field}.{key} is required.")

        values: dict[str, Any] = {}
        for key in ("x", "y"):
            if key in data:
                values[key] = problems.integer(key, data[key], minimum=0)
        for key in ("width", "height"):
            if key in data:
                values[key] = problems.integer(key, data[key], minimum=1)
        for key in ("font_min", "font_max"):
            if key in data:
                values[key] = problems.integer(key, data[key], minimum=FONT_SIZE_MIN, maximum=FONT_SIZE_MAX)
        for key in ("color", "overlay_color", "stroke_color"):
            if key in data:
                values[key] = problems.color(key, data[key])
        if "line_height" in data:
            values["line_height"] = problems.number(
                "line_height", data["line_height"], minimum=LINE_HEIGHT_MIN, maximum=LINE_HEIGHT_MAX
            )
        if "overlay_opacity" in data:
            values["overlay_opacity"] = problems.number("overlay_opacity", data["overlay_opacity"], 0.0, 1.0)
        if "stroke_width" in data:
            values["stroke_width"] = problems.integer(
                "stroke_width", data["stroke_width"], minimum=0, maximum=STROKE_WIDTH_MAX
            )
        if "shadow" in data:
            if isinstance(data["shadow"], bool):
                values["shadow"] = data["shadow"]
            else:
                problems.add("shadow", f"{field}.shadow must be true or false.")

        font_min, font_max = values.get("font_min"), values.get("font_max")
        if font_min is not None and font_max is not None and font_min > font_max:
            problems.add("font_min", f"{field}.font_min ({font_min}) must not be larger than font_max ({font_max}).")
        height = values.get("height")
        if font_min is not None and height is not None and font_min > height:
            problems.add("font_min", f"{field}.font_min ({font_min}) must not be larger than the height ({height}).")
        problems.check_inside(values, image_size)
        problems.raise_if_any()
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object :meth:`from_dict` reads back into an equal area; optional keys only when not default."""
        data: dict[str, Any] = {key: getattr(self, key) for key in REQUIRED_KEYS}
        if self.overlay_color is not None:
            data["overlay_color"] = self.overlay_color
            data["overlay_opacity"] = self.overlay_opacity
        if self.stroke_width:
            data["stroke_width"] = self.stroke_width
            data["stroke_color"] = self.stroke_color
        if self.shadow:
            data["shadow"] = True
        return data

    def scaled(self, factor: float, *, image_size: tuple[int, int]) -> TextArea:
        """The same area on the background scaled by ``factor`` to ``image_size``: box, sizes and outline."""
        if factor == 1:
            return self
        image_width, image_height = image_size
        x = min(round(self.x * factor), image_width - 1)
        y = min(round(self.y * factor), image_height - 1)
        # The scaled box keeps inside the scaled image whatever the rounding.
        width = max(1, min(round((self.x + self.width) * factor), image_width) - x)
        height = max(1, min(round((self.y + self.height) * factor), image_height) - y)
        font_max = max(1, round(self.font_max * factor))
        font_min = max(1, min(round(self.font_min * factor), font_max))
        stroke = max(1, round(self.stroke_width * factor)) if self.stroke_width else 0
        return TextArea(
            x=x,
            y=y,
            width=width,
            height=height,
            font_min=font_min,
            font_max=font_max,
            color=self.color,
            line_height=self.line_height,
            overlay_color=self.overlay_color,
            overlay_opacity=self.overlay_opacity,
            stroke_width=stroke,
            stroke_color=self.stroke_color,
            shadow=self.shadow,
        )


class _Problems:
    """Collects the problems of one area, each message under its full field name."""

    def __init__(self, field: str):
        self.field = field
        self.details: dict[str, list[str]] = {}

    def add(self, key: str | None, message: str) -> None:
        name = f"{self.field}.{key}" if key else self.field
        self.details.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.details:
            message = " ".join(message for messages in self.details.values() for message in messages)
            raise ValidationError(message, details=self.details)

    def integer(self, key: str, value: Any, minimum: int, maximum: int | None = None) -> int | None:
        # JSON has one number type; 12.0 is taken as 12, but 12.5 and true are not sizes.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(key, f"{self.field}.{key} must be a whole number.")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.add(key, f"{self.field}.{key} must be {bounds} (got {value}).")
            return None
        return value

    def number(self, key: str, value: Any, minimum: float, maximum: float) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.add(key, f"{self.field}.{key} must be a number.")
            return None
        if not minimum <= value <= maximum:
            self.add(key, f"{self.field}.{key} must be between {minimum:g} and {maximum:g} (got {value:g}).")
            return None
        return float(value)

    def color(self, key: str, value: Any) -> str | None:
        if not isinstance(value, str) or not _COLOR.fullmatch(value):
            self.add(key, f'{self.field}.{key} must be a colour written as "#RRGGBB" (got {value!r}).')
            return None
        return value.upper()

    def check_inside(self, values: dict[str, Any], image_size: tuple[int, int]) -> None:
        image_width, image_height = image_size
        for start, length, limit, side in (
            ("x", "width", image_width, "right"),
            ("y", "height", image_height, "bottom"),
        ):
            if values.get(start) is None or values.get(length) is None:
                continue
            end = values[start] + values[length]
            if end > limit:
                self.add(
                    length,
                    f"{self.field}.{length}: the box's {side} edge ({values[start]} + {values[length]} = {end}) "
                    f"lies outside the {image_width}x{image_height} background.",
                )
