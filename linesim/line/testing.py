"""Helpers for tests that need a LINE Platform: a double on a free port and a small client of its control API.

from linesim.line.testing import running_line_double

with running_line_double(webhook_url=bot_url) as line:
    configuration = Configuration(host=line.base_url, access_token=line.access_token)
    line.control.send_webhook(type="text", userId=user_id, text="hello")
    assert line.control.messages(user_id=user_id)[0]["message"]["text"] == ...
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from linesim.line.config import LineDoubleConfig
from linesim.line.server import RunningDouble, start_in_thread


class ControlError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status, self.body = status, body


class ControlClient:
    """Synchronous client of the double's ``/_control/`` API (standard library only)."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, payload: Any = None, **query: Any) -> Any:
        params = {key: value for key, value in query.items() if value is not None}
        url = f"{self.base_url}/_control/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(payload).encode() if payload is not None else None
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the control API needs an http(s) URL, not {url}")
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - checked above
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - checked above
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode(errors="replace")
            raise ControlError(exc.code, parsed) from None

    # -- state -------------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.request("POST", "reset")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """webhookUrl, replyTokenTtl, specChecks, rateLimits, acceptAnyToken, monthlyQuota."""
        return self.request("POST", "config", settings)

    def set_faults(
        self,
        *,
        seed: int = 0,
        latency_ms: float | dict[str, float] | None = None,
        errors: list[dict[str, Any]] | None = None,
        drop_rate: float | dict[str, float] | None = None,
        lost_responses: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """errors: ``[{"endpoint": "pushMessage", "status": 503, "rate": 1.0, "count": 1}]``; lost_responses:
        ``[{"endpoint": "pushMessage", "count": 1}]`` (carried out, answer lost); endpoints are operationIds or "*"."""
        spec: dict[str, Any] = {"seed": seed, "errors": errors or []}
        if latency_ms is not None:
            spec["latencyMs"] = latency_ms
        if drop_rate is not None:
            spec["dropRate"] = drop_rate
        if lost_responses is not None:
            spec["lostResponses"] = lost_responses
        return self.request("POST", "faults", spec)

    def clear_faults(self) -> None:
        self.request("DELETE", "faults")

    def set_rate_limit(self, endpoint: str, requests: int, per_seconds: float = 1.0) -> dict[str, Any]:
        return self.request(
            "POST", "rate-limits", {"endpoint": endpoint, "requests": requests, "perSeconds": per_seconds}
        )

    def add_user(self, user_id: str | None = None, display_name: str | None = None, **profile: Any) -> dict[str, Any]:
        return self.request("POST", "users", {"userId": user_id, "displayName": display_name, **profile})

    def add_group(self, group_id: str | None = None, group_name: str | None = None, members: list[str] | None = None):
        return self.request("POST", "groups", {"groupId": group_id, "groupName": group_name, "members": members or []})

    def issue_reply_token(
        self, user_id: str | None = None, *, ttl: float | None = None, reply_token: str | None = None, **source: str
    ) -> str:
        """A reply token for a user's chat (or ``groupId=``/``roomId=``); ``reply_token`` registers that exact token,
        e.g. one from a recorded webhook payload."""
        payload = {"userId": user_id, **source, **({"ttl": ttl} if ttl is not None else {})}
        if reply_token is not None:
            payload["replyToken"] = reply_token
        return self.request("POST", "reply-tokens", payload)["replyToken"]

    def add_content(
        self,
        data: bytes,
        *,
        message_id: str | None = None,
        content_type: str = "application/octet-stream",
        file_name: str = "",
    ) -> str:
        """Stores the content of a message a user sent (served at /v2/bot/message/{id}/content); returns its id."""
        payload = {
            "messageId": message_id,
            "contentBase64": base64.b64encode(data).decode("ascii"),
            "contentType": content_type,
            "fileName": file_name,
        }
        return self.request("POST", "contents", payload)["messageId"]

    # -- what the bot sent -------------------------------------------------------------------------------------------
    def requests(self, *, user_id: str | None = None, endpoint: str | None = None, status: int | None = None):
        """Every Messaging API request received, newest last; filter by recipient, operationId or status."""
        return self.request("GET", "requests", userId=user_id, endpoint=endpoint, status=status)["requests"]

    def clear_requests(self) -> None:
        self.request("DELETE", "requests")

    def messages(self, *, user_id: str | None = None, chat: str | None = None) -> list[dict[str, Any]]:
        """Messages delivered to a chat (``user_id`` or ``chat="group:C…"``), each with message, via, messageId."""
        return self.request("GET", "messages", userId=user_id, chat=chat)["messages"]

    def wait_for_messages(
        self, *, user_id: str | None = None, chat: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Polls until the chat has received at least ``count`` messages (the bot answers asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages(user_id=user_id, chat=chat)
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(messages)} of {count} messages arrived within {timeout} s: {messages}")
            time.sleep(0.05)

    # -- acting as LINE ----------------------------------------------------------------------------------------------
    def send_webhook(self, **event: Any) -> dict[str, Any]:
        """Posts one signed event to the bot, e.g. ``send_webhook(type="text", userId=u, text="hi")``.

        Returns ``{"event": <the webhook event>, "delivery": {"status", "latencyMs", "error", …}}``.
        """
        return self.request("POST", "webhook/send", event)

    def redeliver(self, webhook_event_id: str) -> dict[str, Any]:
        return self.request("POST", "webhook/redeliver", {"webhookEventId": webhook_event_id})

    def post_events(self, events: list[dict[str, Any]], url: str | None = None) -> dict[str, Any]:
        """Posts raw webhook event objects as they are, signed."""
        return self.request("POST", "webhook/events", {"events": events, "url": url})["delivery"]

    def deliveries(self) -> list[dict[str, Any]]:
        return self.request("GET", "webhook/deliveries")["deliveries"]

    def timeline(self, since: int = 0) -> dict[str, Any]:
        return self.request("GET", "timeline", since=since)


class LineDoubleHandle:
    def __init__(self, running: RunningDouble) -> None:
        self.running = running
        self.base_url = running.base_url
        self.control = ControlClient(running.base_url)
        self.access_token = running.config.access_token
        self.channel_secret = running.config.channel_secret

    @property
    def simulator_url(self) -> str:
        return self.base_url + "/simulator"

    @property
    def double(self):
        """The LineDouble object itself (state, webhooks); only touch it through ``call``."""
        return self.running.double

    def call(self, coroutine, timeout: float = 30):
        return self.running.call(coroutine, timeout)


@contextlib.contextmanager
def running_line_double(**options: Any) -> Iterator[LineDoubleHandle]:
    """A fresh double on 127.0.0.1 and a free port. Options are LineDoubleConfig fields (webhook_url,
    channel_secret, access_token, reply_token_ttl, rate_limits, spec_checks, seed, …)."""
    running = start_in_thread(LineDoubleConfig(port=0), **options)
    try:
        yield LineDoubleHandle(running)
    finally:
        running.stop()
