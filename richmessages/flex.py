"""The Flex message of a rich message, and LINE's limits on it, checked before anything is sent.

A rich message is one bubble: the composed image as the hero (aspect ratio from the image), the title and body as
text, and its postback buttons in the footer::

    {"type": "flex", "altText": <from the title>, "contents": {"type": "bubble", "hero": ..., "body": ...,
                                                                "footer": ...}}

A button carries only a short id, ``action=rich&m=<RichMessage.code>&b=<button>``; what the message said lives in
the database. LINE's limits (Messaging API reference, Flex Message): ``altText`` at most 1,500 characters, a
bubble's JSON at most 30 KB, a carousel at most 12 bubbles and 50 KB, a postback's ``data`` at most 300 characters,
an image URL at most 2,000 characters, an image's aspect ratio at most 1:3. Sizes are counted on the JSON as the
SDK sends it (``json.dumps``: non-ASCII escaped, so a Thai letter counts six bytes) and a KB as 1,000 bytes, the
stricter readings of LINE's rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from core.errors import ValidationError
from core.line.client import messages_as_sent
from core.unicode import utf16_fit, utf16_len

POSTBACK_ACTION = "rich"
MAX_ALT_TEXT = 1500
MAX_BUBBLE_BYTES = 30_000
MAX_CAROUSEL_BYTES = 50_000
MAX_CAROUSEL_BUBBLES = 12
MAX_POSTBACK_DATA = 300
MAX_IMAGE_URL = 2000
# LINE shows a hero image at most three times as tall as it is wide.
MAX_HEIGHT_RATIO = 3

BUTTON_LABELS = {
    "more": {"en": "Tell me more", "th": "บอกเพิ่มเติม", "ja": "もっと詳しく", "zh": "告訴我更多"},
    "like": {"en": "Like", "th": "ถูกใจ", "ja": "いいね", "zh": "讚"},
    "save": {"en": "Save", "th": "บันทึก", "ja": "保存", "zh": "收藏"},
    "share": {"en": "Share", "th": "แชร์", "ja": "シェア", "zh": "分享"},
    "link": {"en": "Open link", "th": "เปิดลิงก์", "ja": "リンクを開く", "zh": "開啟連結"},
}
TITLE_COLOR = "#111111"
BODY_COLOR = "#555555"
MORE_COLOR = "#06C755"


def json_size(value: Any) -> int:
    """Bytes of ``value`` as JSON on the wire (the SDK's ``json.dumps``: ASCII, non-ASCII escaped)."""
    return len(json.dumps(value).encode())


def _error(message: str, field: str = "flex") -> ValidationError:
    return ValidationError(f"{field}: {message}", details={field: [message]})


# --- postback data ------------------------------------------------------------------------------
def postback_data(code: str, button: str) -> str:
    data = urlencode({"action": POSTBACK_ACTION, "m": code, "b": button})
    if len(data) > MAX_POSTBACK_DATA:
        raise _error(f"postback data is {len(data)} characters; LINE takes at most {MAX_POSTBACK_DATA}")
    return data


def postback_parse(data: str) -> tuple[str, str]:
    """(message code, button) of a rich message's postback data; empty strings for what is missing."""
    params = dict(parse_qsl(data, keep_blank_values=True))
    return params.get("m", ""), params.get("b", "")


# --- building -----------------------------------------------------------------------------------
def label(button: str, language: str) -> str:
    labels = BUTTON_LABELS[button]
    return labels.get(language, labels["en"])


def alt_text(title: str) -> str:
    """What chat lists and notifications show instead of the Flex message: the title, cut to LINE's limit."""
    text = " ".join(title.split()) or "…"
    if utf16_len(text) > MAX_ALT_TEXT:
        text = text[: utf16_fit(text, MAX_ALT_TEXT - 1)] + "…"
    return text


def aspect_ratio(width: int, height: int) -> str:
    if width < 1 or height < 1 or height > MAX_HEIGHT_RATIO * width:
        raise _error(
            f"the image is {width}x{height} pixels; LINE shows a hero image at most {MAX_HEIGHT_RATIO} times as "
            "tall as it is wide",
            "image",
        )
    return f"{width}:{height}"


def _button(code: str, button: str, language: str, *, primary: bool) -> dict:
    text = label(button, language)
    component = {
        "type": "button",
        "style": "primary" if primary else "link",
        "height": "sm",
        "action": {"type": "postback", "label": text, "data": postback_data(code, button), "displayText": text},
    }
    if primary:
        component["color"] = MORE_COLOR
    return component


def bubble(
    *,
    image_url: str,
    image_width: int,
    image_height: int,
    title: str,
    body: str,
    buttons: Sequence[str],
    code: str,
    language: str,
    link_url: str = "",
) -> dict:
    """The bubble of one rich message; ``buttons`` in the template's order, "more" first and wide. ``link_url``
    (a tracked link) opens from the hero and from a last, wide button; the image's own URL stays as it is."""
    if len(image_url) > MAX_IMAGE_URL:
        raise _error(f"the image URL is longer than {MAX_IMAGE_URL} characters", "image")
    unknown = [button for button in buttons if button not in BUTTON_LABELS or button == "link"]
    if unknown:
        raise _error(f"unknown button(s) {', '.join(map(repr, unknown))}", "buttons")
    container: dict[str, Any] = {
        "type": "bubble",
        "hero": {
            "type": "image",
            "url": image_url,
            "size": "full",
            "aspectRatio": aspect_ratio(image_width, image_height),
            "aspectMode": "cover",
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "text", "text": title, "weight": "bold", "size": "lg", "wrap": True, "color": TITLE_COLOR},
                {"type": "text", "text": body, "size": "sm", "wrap": True, "color": BODY_COLOR},
            ],
        },
    }
    rows: list[dict] = []
    if "more" in buttons:
        rows.append(_button(code, "more", language, primary=True))
    others = [_button(code, button, language, primary=False) for button in buttons if button != "more"]
    if others:
        rows.append({"type": "box", "layout": "horizontal", "spacing": "sm", "contents": others})
    if link_url:
        container["hero"]["action"] = {"type": "uri", "label": label("link", language), "uri": link_url}
        rows.append(
            {
                "type": "button",
                "style": "secondary",
                "height": "sm",
                "action": {"type": "uri", "label": label("link", language), "uri": link_url},
            }
        )
    if rows:
        container["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": rows}
    return container


def flex_message(container: dict, *, alt: str) -> dict:
    """The message object exactly as LINE gets it (in the form the LINE client sends), checked against LINE's
    limits (ValidationError naming ``flex``)."""
    message = {"type": "flex", "altText": alt_text(alt), "contents": container}
    message_check(message)
    try:
        [sent] = messages_as_sent([message])
    except ValueError as exc:
        raise _error(f"the LINE client cannot send it ({exc})"[:300]) from None
    message_check(sent)
    return sent


def carousel_message(bubbles: Iterable[dict], *, alt: str) -> dict:
    """Several rich messages side by side, e.g. ``[m.flex["contents"] for m in messages]``; checked."""
    return flex_message({"type": "carousel", "contents": list(bubbles)}, alt=alt)


# --- checking -----------------------------------------------------------------------------------
def _postback_data(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        action = node.get("action")
        if isinstance(action, dict) and action.get("type") == "postback":
            yield str(action.get("data", ""))
        for value in node.values():
            yield from _postback_data(value)
    elif isinstance(node, list):
        for value in node:
            yield from _postback_data(value)


def message_check(message: Any) -> None:
    """Raises ValidationError (field ``flex``) for a Flex message LINE would refuse for its size or limits."""
    if not isinstance(message, dict) or message.get("type") != "flex" or not isinstance(message.get("contents"), dict):
        raise _error('must be a Flex message object: {"type": "flex", "altText": ..., "contents": {...}}')
    alt = message.get("altText")
    if not isinstance(alt, str) or not 1 <= utf16_len(alt) <= MAX_ALT_TEXT:
        raise _error(f"altText must be 1 to {MAX_ALT_TEXT} characters")
    container = message["contents"]
    if container.get("type") == "carousel":
        bubbles = container.get("contents")
        if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
            count = len(bubbles) if isinstance(bubbles, list) else 0
            raise _error(f"a carousel holds 1 to {MAX_CAROUSEL_BUBBLES} bubbles, not {count}")
        for number, item in enumerate(bubbles, start=1):
            size = json_size(item)
            if size > MAX_BUBBLE_BYTES:
                raise _error(f"bubble {number} is {size} bytes of JSON; LINE takes at most {MAX_BUBBLE_BYTES}")
        size = json_size(container)
        if size > MAX_CAROUSEL_BYTES:
            raise _error(f"the carousel is {size} bytes of JSON; LINE takes at most {MAX_CAROUSEL_BYTES}")
    elif container.get("type") == "bubble":
        size = json_size(container)
        if size > MAX_BUBBLE_BYTES:
            raise _error(f"the bubble is {size} bytes of JSON; LINE takes at most {MAX_BUBBLE_BYTES}")
    else:
        raise _error("contents must be a bubble or a carousel")
    for data in _postback_data(container):
        if len(data) > MAX_POSTBACK_DATA:
            raise _error(f"a postback's data is {len(data)} characters; LINE takes at most {MAX_POSTBACK_DATA}")
