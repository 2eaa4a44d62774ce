"""The double acting as the LINE Platform towards the bot: builds webhook events, signs and posts them,
and records the bot's status and latency for each post."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from ulid import ULID

from linesim.line.state import Content, chat_key, new_user_id

if TYPE_CHECKING:
    from linesim.line.app import LineDouble

MESSAGE_TYPES = ("text", "image", "file", "sticker", "location")
EVENT_TYPES = (
    *MESSAGE_TYPES,
    "follow",
    "unfollow",
    "join",
    "leave",
    "memberJoined",
    "memberLeft",
    "postback",
    "unsend",
)
NO_REPLY_TOKEN = ("unfollow", "leave", "memberLeft", "unsend")
# A 1x1 PNG for image events that bring no content of their own.
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class EventError(ValueError):
    """The event description cannot become a LINE webhook event."""


def signature(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class WebhookSender:
    def __init__(self, double: LineDouble) -> None:
        self.double = double
        self._session: aiohttp.ClientSession | None = None
        self._delivery_seq = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.double.config.webhook_timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    # -- building events -------------------------------------------------------------------------------------------
    def build_event(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A LINE webhook event from a short description such as ``{"type": "text", "userId": "U…", "text": "hi"}``.

        Also applies the event to the double's world: follows, group membership, content for image/file ids.
        """
        kind = spec.get("type")
        if kind not in EVENT_TYPES:
            raise EventError(f"type must be one of {list(EVENT_TYPES)}")
        state, config = self.double.state, self.double.config
        user_id = spec.get("userId") or new_user_id()
        state.ensure_user(user_id, spec.get("displayName"))
        source = self._source(spec, user_id, kind)
        event: dict[str, Any] = {
            "type": "message" if kind in MESSAGE_TYPES else kind,
            "mode": spec.get("mode", "active"),
            "timestamp": int(self.double.clock.now() * 1000),
            "source": source,
            "webhookEventId": str(ULID()),
            "deliveryContext": {"isRedelivery": False},
        }
        if kind not in NO_REPLY_TOKEN and event["mode"] == "active":
            event["replyToken"] = state.issue_reply_token(source, config.reply_token_ttl)
        if kind in MESSAGE_TYPES:
            event["message"] = self._message(kind, spec)
        elif kind == "follow":
            event["follow"] = {"isUnblocked": state.follow(user_id, self.double.clock.now())}
        elif kind == "unfollow":
            state.block(user_id, self.double.clock.now())
        elif kind in ("memberJoined", "memberLeft"):
            members = spec.get("members") or [user_id]
            key = "joined" if kind == "memberJoined" else "left"
            event[key] = {"members": [{"type": "user", "userId": member} for member in members]}
            chat = self._chat_of(source)
            for member in members:
                state.ensure_user(member)
                if kind == "memberJoined" and member not in chat["members"]:
                    chat["members"].append(member)
                elif kind == "memberLeft" and member in chat["members"]:
                    chat["members"].remove(member)
        elif kind == "postback":
            if not isinstance(spec.get("data"), str):
                raise EventError("a postback needs data (a string)")
            event["postback"] = {"data": spec["data"], **({"params": spec["params"]} if spec.get("params") else {})}
        elif kind == "unsend":
            if not spec.get("messageId"):
                raise EventError("an unsend needs the messageId of the unsent message")
            event["unsend"] = {"messageId": str(spec["messageId"])}
        if kind == "join":
            self._chat_of(source)
        return event

    def _source(self, spec: dict[str, Any], user_id: str, kind: str) -> dict[str, str]:
        state = self.double.state
        if spec.get("groupId"):
            group = state.ensure_group(spec["groupId"], spec.get("groupName"))
            if user_id not in group["members"] and kind not in ("join", "leave", "memberLeft"):
                group["members"].append(user_id)
            source = {"type": "group", "groupId": spec["groupId"]}
        elif spec.get("roomId"):
            room = state.ensure_room(spec["roomId"])
            if user_id not in room["members"] and kind not in ("join", "leave", "memberLeft"):
                room["members"].append(user_id)
            source = {"type": "room", "roomId": spec["roomId"]}
        else:
            return {"type": "user", "userId": user_id}
        if kind not in ("join", "leave"):
            source["userId"] = user_id
        return source

    def _chat_of(self, source: dict[str, str]) -> dict[str, Any]:
        state = self.double.state
        if source["type"] == "group":
            return state.ensure_group(source["groupId"])
        if source["type"] == "room":
            return state.ensure_room(source["roomId"])
        raise EventError("this event needs a groupId or roomId")

    def _message(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        state = self.double.state
        message_id = state.next_message_id()
        message: dict[str, Any] = {"id": message_id, "type": kind}
        token = state.issue_mark_as_read_token()
        if kind == "text":
            if not isinstance(spec.get("text"), str) or not spec["text"]:
                raise EventError("a text message needs text")
            message["text"] = spec["text"]
        elif kind in ("image", "file"):
            data = self._content_bytes(spec, kind)
            content_type = spec.get("contentType") or ("image/png" if kind == "image" else "application/octet-stream")
            file_name = spec.get("fileName") or ("image.png" if kind == "image" else "file.bin")
            state.contents[message_id] = Content(data=data, content_type=content_type, file_name=file_name)
            if kind == "image":
                message["contentProvider"] = {"type": "line"}
            else:
                message.update(fileName=file_name, fileSize=len(data))
        elif kind == "sticker":
            message.update(
                packageId=str(spec.get("packageId", "446")),
                stickerId=str(spec.get("stickerId", "1988")),
                stickerResourceType=spec.get("stickerResourceType", "STATIC"),
                keywords=spec.get("keywords", []),
            )
        elif kind == "location":
            try:
                latitude, longitude = float(spec["latitude"]), float(spec["longitude"])
            except (KeyError, TypeError, ValueError) as exc:
                raise EventError("a location needs numeric latitude and longitude") from exc
            message.update(
                title=spec.get("title", "Location"),
                address=spec.get("address", ""),
                latitude=latitude,
                longitude=longitude,
            )
        if kind in ("text", "image", "sticker"):
            message["quoteToken"] = secrets.token_urlsafe(24)
        message["markAsReadToken"] = token
        return message

    @staticmethod
    def _content_bytes(spec: dict[str, Any], kind: str) -> bytes:
        if spec.get("content") is not None:
            return bytes(spec["content"])
        if spec.get("contentBase64"):
            try:
                return base64.b64decode(spec["contentBase64"], validate=True)
            except ValueError as exc:
                raise EventError("contentBase64 is not valid base64") from exc
        if kind == "image":
            return BLANK_PNG
        raise EventError("a file message needs content (contentBase64)")

    # -- posting ---------------------------------------------------------------------------------------------------
    async def send(self, spec: dict[str, Any], *, url: str | None = None) -> dict[str, Any]:
        """Builds one event from ``spec``, posts it, and returns ``{"event": …, "delivery": …}``."""
        event = self.build_event(spec)
        self.double.state.remember_event(event)
        self._show_in_timeline(event, spec)
        delivery = await self.post_events([event], url=url)
        return {"event": event, "delivery": delivery}

    async def redeliver(self, webhook_event_id: str, *, url: str | None = None) -> dict[str, Any]:
        """Posts an event again: same webhookEventId and reply token, ``isRedelivery`` true."""
        original = self.double.state.sent_events.get(webhook_event_id)
        if original is None:
            raise EventError(f"no event {webhook_event_id} was sent")
        event = copy.deepcopy(original)
        event["deliveryContext"]["isRedelivery"] = True
        delivery = await self.post_events([event], url=url)
        return {"event": event, "delivery": delivery}

    async def post_events(self, events: list[dict[str, Any]], *, url: str | None = None) -> dict[str, Any]:
        payload = {"destination": self.double.config.bot_user_id, "events": events}
        return await self.post_payload(payload, url=url)

    async def post_payload(self, payload: dict[str, Any], *, url: str | None = None) -> dict[str, Any]:
        target = url or self.double.config.webhook_url
        body = orjson.dumps(payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
            "X-Line-Signature": signature(self.double.config.channel_secret, body),
        }
        self._delivery_seq += 1
        events = payload.get("events") or []
        delivery: dict[str, Any] = {
            "id": self._delivery_seq,
            "url": target,
            "webhookEventIds": [event.get("webhookEventId") for event in events],
            "eventTypes": [event.get("type") for event in events],
            "chats": [chat_key(event["source"]) for event in events if _has_chat(event)],
            "isRedelivery": any(event.get("deliveryContext", {}).get("isRedelivery") for event in events),
            "status": None,
            "latencyMs": None,
            "error": None,
            "responseBody": None,
            "time": time.time(),
        }
        started = time.perf_counter()
        if not target:
            delivery["error"] = "no webhook URL is set"
        else:
            try:
                async with self._client().post(target, data=body, headers=headers) as response:
                    delivery["status"] = response.status
                    delivery["responseBody"] = (await response.text(errors="replace"))[:2000]
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                delivery["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        delivery["latencyMs"] = round((time.perf_counter() - started) * 1000, 1)
        self.double.state.webhooks.append(delivery)
        for chat in dict.fromkeys(delivery["chats"]):
            self.double.state.add_to_timeline(
                "webhook", chat, delivery={k: v for k, v in delivery.items() if k != "responseBody"}
            )
        return delivery

    def _show_in_timeline(self, event: dict[str, Any], spec: dict[str, Any]) -> None:
        user = self.double.state.users.get(event["source"].get("userId", ""), {})
        common = {
            "webhookEventId": event["webhookEventId"],
            "userId": event["source"].get("userId"),
            "displayName": user.get("displayName"),
        }
        chat = chat_key(event["source"]) if _has_chat(event) else None
        if chat is None:
            return
        if event["type"] == "message":
            self.double.state.add_to_timeline("user_message", chat, message=event["message"], **common)
        elif event["type"] == "postback":
            shown = spec.get("displayText")
            self.double.state.add_to_timeline(
                "user_postback", chat, postback=event["postback"], displayText=shown, **common
            )
        else:
            self.double.state.add_to_timeline("user_event", chat, eventType=event["type"], **common)


def _has_chat(event: dict[str, Any]) -> bool:
    source = event.get("source") or {}
    return bool(source.get("userId") or source.get("groupId") or source.get("roomId"))
