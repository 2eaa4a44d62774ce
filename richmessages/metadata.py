"""A template version's descriptive fields: reading them in our shape or the upstream bot's, and checking them.

Our shape uses the model's field names::

    {"theme": "motivation", "mood": "energetic", "best_for": ["work"], "times_of_day": ["morning"],
     "title_area": {...}, "body_area": {...}, "title_max_chars": 40, "body_max_chars": 160,
     "buttons": ["more", "like", "save", "share"], "curated_copy": {"th": {"title": "...", "body": "..."}}}

The upstream bot's shape (one entry of its ``metadata.json``)::

    {"theme": ..., "mood": ..., "energy_level": ..., "best_for": [...], "time_of_day": [...],
     "content_type": [...], "text_areas": {"primary": {"x", "y", "width", "height"}, "secondary": {...}}}

``primary`` becomes the title area and ``secondary`` the body area, with font sizes scaled to the
image. ``energy_level`` and ``content_type`` have no field here and are not kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.errors import ValidationError
from richmessages.validation import grapheme_len, text_area_problems, text_is_storable

BUTTONS = ("more", "like", "save", "share")
FIELDS = (
    "theme",
    "mood",
    "best_for",
    "times_of_day",
    "title_area",
    "body_area",
    "title_max_chars",
    "body_max_chars",
    "buttons",
    "curated_copy",
)
UPSTREAM_FIELDS = ("theme", "mood", "energy_level", "best_for", "time_of_day", "content_type", "text_areas")
TAG_MAX_CHARS = 64
TAGS_MAX = 20
TITLE_MAX_CHARS = (1, 200)
BODY_MAX_CHARS = (1, 1000)
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class Problems:
    """Collects per-field messages and raises them together as one ValidationError."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def collect(self, check, *args, **kwargs):
        """``check(...)``'s result, or None with its ValidationError's messages added here."""
        try:
            return check(*args, **kwargs)
        except ValidationError as exc:
            for field, messages in (exc.details or {"request": [exc.message]}).items():
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add(field, message)
            return None

    def raise_if_any(self) -> None:
        if self.by_field:
            raise problems_error(self.by_field)


def problems_error(by_field: dict[str, list[str]]) -> ValidationError:
    summary = "; ".join(f"{field}: {messages[0]}" for field, messages in by_field.items())
    return ValidationError(summary, details=by_field)


# --- Defaults ---------------------------------------------------------------------------


def default_font(kind: str, *, image_width: int, box_height: int) -> dict[str, Any]:
    """Font sizes that read well on a hero image of this width and fit the box's height."""
    if kind == "title":
        font_max, font_min, line_height = round(image_width * 0.05), round(image_width * 0.024), 1.2
    else:
        font_max, font_min, line_height = round(image_width * 0.032), round(image_width * 0.016), 1.4
    font_max = max(8, min(font_max, box_height, 512))
    font_min = max(8, min(font_min, font_max))
    return {"font_min": font_min, "font_max": font_max, "color": "#FFFFFF", "line_height": line_height}


def default_box(kind: str, *, image_width: int, image_height: int) -> dict[str, int]:
    """The title in the upper band, the body in the lower one, each with a margin."""
    margin_x = round(image_width * 0.06)
    top = 0.08 if kind == "title" else 0.58
    box_height = 0.26 if kind == "title" else 0.3
    return {
        "x": margin_x,
        "y": round(image_height * top),
        "width": image_width - 2 * margin_x,
        "height": max(1, round(image_height * box_height)),
    }


def area_with_defaults(kind: str, given: dict | None, *, image_width: int, image_height: int) -> Any:
    """``given`` completed with a default box and font; a value that is not a dict is left to the checks."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        return given
    box_keys = ("x", "y", "width", "height")
    area: dict[str, Any] = {}
    if not any(key in given for key in box_keys):
        area.update(default_box(kind, image_width=image_width, image_height=image_height))
    area.update(given)
    height = area.get("height")
    box_height = height if isinstance(height, int) and not isinstance(height, bool) and height > 0 else image_height
    for key, value in default_font(kind, image_width=image_width, box_height=box_height).items():
        area.setdefault(key, value)
    return area


# --- Reading ------------------------------------------------------------------------------


def is_upstream(metadata: dict) -> bool:
    return "text_areas" in metadata or "time_of_day" in metadata or "energy_level" in metadata


def from_upstream(entry: Any, *, field: str = "metadata") -> dict[str, Any]:
    """One entry of the upstream ``metadata.json`` in our field names (areas not yet completed)."""
    problems = Problems()
    if not isinstance(entry, dict):
        problems.add(field, "must be an object")
        problems.raise_if_any()
    unknown = sorted(str(key) for key in entry if key not in UPSTREAM_FIELDS and key not in FIELDS)
    if unknown:
        problems.add(field, f"unknown key(s): {', '.join(unknown)}")
    ours = {key: entry[key] for key in FIELDS if key in entry}
    if "time_of_day" in entry:
        if "times_of_day" in entry:
            problems.add(field, "give time_of_day or times_of_day, not both")
        ours["times_of_day"] = entry["time_of_day"]
    areas = entry.get("text_areas", {})
    if not isinstance(areas, dict):
        problems.add("text_areas", "must be an object with primary and secondary")
    else:
        extra = sorted(str(key) for key in areas if key not in ("primary", "secondary"))
        if extra:
            problems.add("text_areas", f"unknown key(s): {', '.join(extra)}; expected primary and secondary")
        for upstream_name, our_name in (("primary", "title_area"), ("secondary", "body_area")):
            if upstream_name in areas:
                if our_name in entry:
                    problems.add(field, f"give text_areas.{upstream_name} or {our_name}, not both")
                ours[our_name] = areas[upstream_name]
    problems.raise_if_any()
    return ours


def parse(raw: Any, *, field: str = "metadata") -> dict[str, Any]:
    """Metadata given as a JSON string or a dict, in either shape, in our field names."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise problems_error({field: [f"is not valid JSON ({exc})"[:300]]}) from None
    if not isinstance(raw, dict):
        raise problems_error({field: ["must be a JSON object"]})
    if is_upstream(raw):
        return from_upstream(raw, field=field)
    unknown = sorted(str(key) for key in raw if key not in FIELDS)
    if unknown:
        raise problems_error({field: [f"unknown key(s): {', '.join(unknown)}; expected some of: {', '.join(FIELDS)}"]})
    return dict(raw)


# --- Checking -----------------------------------------------------------------------------


def _text(problems: Problems, field: str, value: Any, *, max_chars: int, required: bool = False) -> str:
    if not isinstance(value, str):
        problems.add(field, "must be text")
        return ""
    value = value.strip()
    if not text_is_storable(value):
        problems.add(field, "contains a character that cannot be stored")
    elif required and not value:
        problems.add(field, "is required")
    elif len(value) > max_chars:
        problems.add(field, f"must be at most {max_chars} characters")
    return value


def _tags(problems: Problems, field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        problems.add(field, "must be a list of words")
        return []
    tags = []
    for tag in value:
        tag = tag.strip()
        if not tag or len(tag) > TAG_MAX_CHARS or not text_is_storable(tag):
            problems.add(field, f"each entry must be 1 to {TAG_MAX_CHARS} characters")
            return []
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        problems.add(field, f"at most {TAGS_MAX} entries")
    return tags


def _count(problems: Problems, field: str, value: Any, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        problems.add(field, f"must be a whole number from {low} to {high}")
        return low
    return value


def _buttons(problems: Problems, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(button, str) for button in value):
        problems.add("buttons", f"must be a list of some of: {', '.join(BUTTONS)}")
        return []
    unknown = [button for button in value if button not in BUTTONS]
    if unknown:
        problems.add("buttons", f"unknown button(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(BUTTONS)}")
    if len(set(value)) != len(value):
        problems.add("buttons", "each button may appear once")
    return list(value)


def _curated_copy(problems: Problems, value: Any, *, title_max: int, body_max: int) -> dict:
    shape = 'must be an object like {"th": {"title": "...", "body": "..."}}'
    if not isinstance(value, dict):
        problems.add("curated_copy", shape)
        return {}
    cleaned: dict[str, dict[str, str]] = {}
    for language, copy in value.items():
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            problems.add("curated_copy", f"{language!r} is not a language code like th, ja or en")
            continue
        if not isinstance(copy, dict) or set(copy) - {"title", "body"} or not copy:
            problems.add("curated_copy", f"{language}: {shape}")
            continue
        entry = {}
        for part, limit in (("title", title_max), ("body", body_max)):
            if part not in copy:
                continue
            text = copy[part]
            if not isinstance(text, str) or not text_is_storable(text):
                problems.add("curated_copy", f"{language}.{part} must be text")
                continue
            text = text.strip()
            if grapheme_len(text) > limit:
                problems.add("curated_copy", f"{language}.{part} is longer than {limit} characters")
            if text:
                entry[part] = text
        if entry:
            cleaned[language] = entry
    return cleaned


def clean(metadata: dict[str, Any], *, image_width: int, image_height: int) -> dict[str, Any]:
    """Every field of a version, checked and completed with defaults; raises ValidationError naming each field.

    ``metadata`` is in our field names (see :func:`parse`); missing fields get their defaults.
    """
    problems = Problems()
    unknown = sorted(str(key) for key in metadata if key not in FIELDS)
    if unknown:
        problems.add("metadata", f"unknown key(s): {', '.join(unknown)}")
    cleaned: dict[str, Any] = {
        "theme": _text(problems, "theme", metadata.get("theme", ""), max_chars=64),
        "mood": _text(problems, "mood", metadata.get("mood", ""), max_chars=64),
        "best_for": _tags(problems, "best_for", metadata.get("best_for", [])),
        "times_of_day": _tags(problems, "times_of_day", metadata.get("times_of_day", [])),
        "title_max_chars": _count(problems, "title_max_chars", metadata.get("title_max_chars", 40), TITLE_MAX_CHARS),
        "body_max_chars": _count(problems, "body_max_chars", metadata.get("body_max_chars", 160), BODY_MAX_CHARS),
        "buttons": _buttons(problems, metadata.get("buttons", [])),
    }
    for kind, field in (("title", "title_area"), ("body", "body_area")):
        area = area_with_defaults(kind, metadata.get(field), image_width=image_width, image_height=image_height)
        for problem in text_area_problems(area, field=field, image_width=image_width, image_height=image_height):
            problems.add(field, problem)
        cleaned[field] = area
    cleaned["curated_copy"] = _curated_copy(
        problems,
        metadata.get("curated_copy", {}),
        title_max=cleaned["title_max_chars"],
        body_max=cleaned["body_max_chars"],
    )
    problems.raise_if_any()
    return cleaned


def of_version(version) -> dict[str, Any]:
    """The fields of an existing version, in the shape :func:`clean` takes."""
    return {field: getattr(version, field) for field in FIELDS}
