"""Webhook payloads as LINE sends them, signed with the channel secret of the doubles (tests.doubles)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import orjson

from tests.doubles import CHANNEL_SECRET

SECRET = CHANNEL_SECRET
USER = "U" + "a" * 32


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def text_event(
    text: str = "Hello",
    *,
    user_id: str = USER,
    event_id: str | None = None,
    source: dict | None = None,
    reply_token: str | None = None,
    **extra,
) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1_700_000_000_000,
        "source": source or {"type": "user", "userId": user_id},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token or uuid.uuid4().hex,
        "message": {"id": str(uuid.uuid4().int)[:14], "type": "text", "text": text, "quoteToken": "q"},
        **extra,
    }


def event_of(kind: str, *, user_id: str = USER, source: dict | None = None, **fields) -> dict:
    event = {
        "type": kind,
        "mode": "active",
        "timestamp": 1_700_000_000_000,
        "source": source or {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
    }
    event.update(fields)
    return event


def body_of(*events: dict, destination: str = "Ubot") -> bytes:
    payload = {"destination": destination, "events": list(events)}
    try:
        return orjson.dumps(payload)
    except TypeError:  # integers beyond 64 bits
        return json.dumps(payload).encode()


class Events:
    """Builds events whose reply tokens the LINE double issued for their chat, as LINE's own would be.

    ``events.text("hi")`` and ``events.of("follow")`` take the arguments of text_event and event_of;
    ``reply_ttl=0`` gives a token that has already expired.
    """

    def __init__(self, line):
        self.line = line

    def text(self, text: str = "Hello", *, reply_ttl: float | None = None, **options) -> dict:
        return self._with_token(text_event(text, **options), reply_ttl)

    def of(self, kind: str, *, reply_ttl: float | None = None, **fields) -> dict:
        event = event_of(kind, **fields)
        if kind in ("unfollow", "leave", "memberLeft", "unsend"):
            del event["replyToken"]  # LINE gives these no reply token
            return event
        return self._with_token(event, reply_ttl)

    def _with_token(self, event: dict, ttl: float | None) -> dict:
        source = event["source"]
        chat = {key: source[key] for key in ("groupId", "roomId") if key in source}
        event["replyToken"] = self.line.control.issue_reply_token(source.get("userId"), ttl=ttl, **chat)
        return event
