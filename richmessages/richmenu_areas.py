"""Tap areas of a rich menu: their rules, and the LINE rich-menu object built from a menu.

An area is ``{"name", "x", "y", "width", "height", "action"}`` in the image's pixels, with ``label`` optional
(read out by screen readers). Its action is one of::

    {"type": "postback", "data": "action=help", "displayText": "Help"}   # routed like a button tap
    {"type": "richmenuswitch", "alias": "more"}                           # switches to the alias's menu
    {"type": "message", "text": "Opening hours?"}
    {"type": "uri", "uri": "https://example.com/"}

Every postback and switch is sent to LINE with the data ``action=richmenu&m=<menu>&a=<area>``, so that each
tap is recorded and then routed to what the area says (``richmessages.richmenu_postbacks``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

# LINE's rules for the alias id (the OpenAPI spec's pattern) and for user ids.
ALIAS_ID_VALIDATOR = RegexValidator(
    r"^[a-z0-9_-]{1,32}$", "Use 1 to 32 lower-case letters, digits, hyphens or underscores."
)
LINE_USER_ID_VALIDATOR = RegexValidator(r"^U[0-9a-f]{32}$", "A LINE user id is U followed by 32 hex digits.")

POSTBACK_ACTION = "richmenu"
MAX_AREAS = 20
MAX_DATA = 300
MAX_TEXT = 300
MAX_LABEL = 20
MAX_URI = 1000
AREA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ACTION_TYPES = ("postback", "richmenuswitch", "message", "uri")
URI_SCHEMES = ("http", "https", "line", "tel")


def tap_data(menu_id: int | None, area_name: str) -> str:
    return urlencode({"action": POSTBACK_ACTION, "m": menu_id or 0, "a": area_name})


def area_problems(areas, *, width: int | None, height: int | None, registered: frozenset[str] | None = None):
    """Every problem with ``areas`` as sentences naming the area and the field; an empty list when all is well.

    ``width``/``height`` are the image's, when known. ``registered``: the postback actions the bot answers.
    """
    if not isinstance(areas, list):
        return ["The tap areas must be a list."]
    if len(areas) > MAX_AREAS:
        return [f"A rich menu has at most {MAX_AREAS} tap areas, not {len(areas)}."]
    problems: list[str] = []
    seen: set[str] = set()
    for index, area in enumerate(areas, start=1):
        if not isinstance(area, dict):
            problems.append(f"Area {index}: must be an object with name, x, y, width, height and action.")
            continue
        name = area.get("name")
        where = f"Area {index} ({name})" if isinstance(name, str) and name else f"Area {index}"
        if not isinstance(name, str) or not AREA_NAME.match(name):
            problems.append(f"{where}: name must be 1 to 32 letters, digits, hyphens or underscores.")
        elif name in seen:
            problems.append(f"{where}: name is used by another area.")
        else:
            seen.add(name)
        problems += [f"{where}: {problem}" for problem in _bounds_problems(area, width, height)]
        label = area.get("label", "")
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            problems.append(f"{where}: label must be text of at most {MAX_LABEL} characters.")
        problems += [f"{where}: {problem}" for problem in _action_problems(area.get("action"), registered)]
    return problems


def _bounds_problems(area: dict, width: int | None, height: int | None) -> list[str]:
    problems = []
    values = {}
    for key, minimum in (("x", 0), ("y", 0), ("width", 1), ("height", 1)):
        value = area.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            problems.append(f"{key} must be a whole number of at least {minimum}.")
        else:
            values[key] = value
    if problems:
        return problems
    if width is not None and values["x"] + values["width"] > width:
        problems.append(f"x + width ({values['x'] + values['width']}) is past the image's width ({width}).")
    if height is not None and values["y"] + values["height"] > height:
        problems.append(f"y + height ({values['y'] + values['height']}) is past the image's height ({height}).")
    return problems


def _action_problems(action, registered: frozenset[str] | None) -> list[str]:
    if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
        return [f"action.type must be one of {', '.join(ACTION_TYPES)}."]
    kind = action["type"]
    if kind == "postback":
        return _postback_problems(action, registered)
    if kind == "richmenuswitch":
        alias = action.get("alias")
        try:
            ALIAS_ID_VALIDATOR(alias if isinstance(alias, str) else "")
        except ValidationError:
            return ["action.alias must be an alias id: 1 to 32 lower-case letters, digits, hyphens or underscores."]
        return []
    if kind == "message":
        text = action.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return [f"action.text must be 1 to {MAX_TEXT} characters."]
        return []
    uri = action.get("uri")
    if not isinstance(uri, str) or len(uri) > MAX_URI or urlsplit(uri).scheme not in URI_SCHEMES:
        return [f"action.uri must be an http, https, line or tel address of at most {MAX_URI} characters."]
    return []


def _postback_problems(action: dict, registered: frozenset[str] | None) -> list[str]:
    data = action.get("data")
    if not isinstance(data, str) or len(data) > MAX_DATA:
        return [f"action.data must be a query string of at most {MAX_DATA} characters, such as action=help."]
    target = dict(parse_qsl(data, keep_blank_values=True)).get("action", "")
    problems = []
    if not target:
        problems.append("action.data must name the postback action, such as action=help.")
    elif target == POSTBACK_ACTION:
        problems.append(f"action.data can't name the {POSTBACK_ACTION} action itself.")
    elif registered is not None and target not in registered:
        known = ", ".join(sorted(registered - {POSTBACK_ACTION})) or "none"
        problems.append(f"action.data names the action {target!r}, which the bot does not answer (known: {known}).")
    display = action.get("displayText", "")
    if not isinstance(display, str) or len(display) > MAX_TEXT:
        problems.append(f"action.displayText must be text of at most {MAX_TEXT} characters.")
    return problems


def _line_action(menu_id: int | None, area: dict) -> dict:
    action = area["action"]
    label = {"label": area["label"]} if area.get("label") else {}
    kind = action["type"]
    if kind == "postback":
        shown = {"displayText": action["displayText"]} if action.get("displayText") else {}
        return {"type": "postback", **label, "data": tap_data(menu_id, area["name"]), **shown}
    if kind == "richmenuswitch":
        return {
            "type": "richmenuswitch",
            **label,
            "richMenuAliasId": action["alias"],
            "data": tap_data(menu_id, area["name"]),
        }
    if kind == "message":
        return {"type": "message", **label, "text": action["text"]}
    return {"type": "uri", **label, "uri": action["uri"]}


def line_object(menu, *, marker: str) -> dict:
    """The rich-menu object LINE is sent; ``marker`` begins its name, so that we can find it on LINE's list."""
    name = f"{marker} {menu.name}".strip()[:300]
    return {
        "size": {"width": menu.image_width, "height": menu.image_height},
        "selected": bool(menu.selected),
        "name": name,
        "chatBarText": menu.chat_bar_text,
        "areas": [
            {
                "bounds": {key: area[key] for key in ("x", "y", "width", "height")},
                "action": _line_action(menu.pk, area),
            }
            for area in menu.areas or []
        ],
    }
