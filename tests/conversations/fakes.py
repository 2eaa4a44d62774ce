"""In-process stand-ins for the two mock points: conversations.line_client and core.llm."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field

import orjson

from core.errors import LineApiError, LLMError
from core.line.client import ContentTooLargeError, InvalidReplyTokenError, Profile, SendResult
from core.llm.client import ChatResult

SECRET = "unit-test-channel-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def text_event(
    text: str = "Hello",
    *,
    user_id: str = "U" + "a" * 32,
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


def event_of(kind: str, *, user_id: str = "U" + "a" * 32, source: dict | None = None, **fields) -> dict:
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


@dataclass
class FakeLine:
    replies: list[tuple[str, list[dict]]] = field(default_factory=list)
    pushes: list[tuple[str, list[dict], str]] = field(default_factory=list)
    loading: list[str] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    reply_errors: list[Exception] = field(default_factory=list)
    push_errors: list[Exception] = field(default_factory=list)
    spent_tokens: set[str] = field(default_factory=set)
    accepted_keys: set[str] = field(default_factory=set)
    push_attempts: list[str] = field(default_factory=list)

    def reply(self, reply_token, messages):
        if self.reply_errors:
            raise self.reply_errors.pop(0)
        if reply_token in self.spent_tokens:
            raise InvalidReplyTokenError(status=400, details={"body": "Invalid reply token"})
        self.spent_tokens.add(reply_token)
        self.replies.append((reply_token, messages))
        return SendResult(request_id=f"r{len(self.replies)}")

    def push(self, to, messages, *, retry_key):
        self.push_attempts.append(str(retry_key))
        if self.push_errors:
            error = self.push_errors.pop(0)
            if getattr(error, "reached_line", False):
                # LINE took it, but the answer never came back.
                self.accepted_keys.add(str(retry_key))
                self.pushes.append((to, messages, str(retry_key)))
            raise error
        if str(retry_key) in self.accepted_keys:
            return SendResult(request_id="earlier", duplicate=True)
        self.accepted_keys.add(str(retry_key))
        self.pushes.append((to, messages, str(retry_key)))
        return SendResult(request_id=f"p{len(self.pushes)}")

    def close(self):
        pass

    def show_loading(self, chat_id, *, seconds=20):
        self.loading.append(chat_id)

    def get_profile(self, user_id):
        if user_id not in self.profiles:
            raise LineApiError("not found", status=404)
        return self.profiles[user_id]

    def download_content(self, message_id, destination, *, max_bytes):
        if message_id not in self.contents:
            raise LineApiError("LINE content answered HTTP 404.", status=404)
        data = self.contents[message_id]
        if len(data) > max_bytes:
            raise ContentTooLargeError()
        destination.write(data)
        return len(data)

    @property
    def sent_texts(self) -> list[str]:
        out = [m["text"] for _, messages in self.replies for m in messages if m["type"] == "text"]
        out += [m["text"] for _, messages, _ in self.pushes for m in messages if m["type"] == "text"]
        return out


def server_error(status=500):
    return LineApiError(f"LINE answered HTTP {status}.", status=status, retryable=True)


def lost_response():
    error = LineApiError("LINE push failed: ReadTimeoutError", retryable=True, details={"ambiguous": True})
    error.reached_line = True
    return error


class _NoSDK:
    def close(self):
        pass


@dataclass
class FakeLLM:
    sdk: _NoSDK = field(default_factory=_NoSDK)
    calls: list[dict] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    answer: str | None = None

    def chat(self, messages, *, model=None, temperature=None, max_tokens=None, tools=None, user=None):
        self.calls.append(
            {"messages": messages, "model": model, "temperature": temperature, "user": user, "tools": tools}
        )
        if self.errors:
            raise self.errors.pop(0)
        last = messages[-1]["content"]
        if isinstance(last, list):
            last = "picture of " + str(len(last)) + " parts"
        text = self.answer if self.answer is not None else f"Answer to: {last}"
        return ChatResult(
            text=text, prompt_tokens=10, completion_tokens=5, latency_ms=12, finish_reason="stop", model="fake-model"
        )


def llm_timeout():
    return LLMError("The language model did not answer in time.", retryable=True)
