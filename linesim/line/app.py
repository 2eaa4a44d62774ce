"""The LINE double's aiohttp application and the checks every Messaging API request goes through.

Order of the checks, as LINE answers them: route → Bearer token (401) → injected faults → rate limit (429)
→ X-Line-Retry-Key (400/409) → JSON body and OpenAPI spec (400) → the endpoint's own rules → a lost answer
(injected: the endpoint acted, the client gets no response).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from linesim.line.clock import Clock
from linesim.line.config import LineDoubleConfig
from linesim.line.faults import Faults, RateLimiter
from linesim.line.spec import Operation, SpecBook, Violation, is_uuid
from linesim.line.state import State

log = logging.getLogger("linesim.line")

RETRY_KEY_ENDPOINTS = frozenset({"pushMessage", "multicast", "narrowcast", "broadcast"})
MESSAGE_ENDPOINTS = frozenset(
    {
        "replyMessage",
        "pushMessage",
        "multicast",
        "narrowcast",
        "broadcast",
        "validateReply",
        "validatePush",
        "validateMulticast",
        "validateNarrowcast",
        "validateBroadcast",
    }
)
MAX_TEXT_UTF16_UNITS = 5000
MAX_ALT_TEXT = 1500
MAX_CAROUSEL_BUBBLES = 12
# The JSON of a bubble and of a carousel, as the SDKs send it (json.dumps: non-ASCII escaped), read as 1,000 bytes a KB.
MAX_BUBBLE_BYTES = 30_000
MAX_CAROUSEL_BYTES = 50_000
AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
FAULT_BODIES = {
    429: {"message": RATE_LIMITED},
    500: {"message": "Internal server error"},
    503: {"message": "Service unavailable"},
}

_spec_books: dict[Path | None, SpecBook] = {}


def spec_book(spec_dir: Path | None) -> SpecBook:
    """Specs are parsed and compiled once per process (a few seconds), then shared by every double."""
    if spec_dir not in _spec_books:
        _spec_books[spec_dir] = SpecBook(spec_dir)
    return _spec_books[spec_dir]


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json", headers=headers)


def error(status: int, message: str, details: list[dict[str, str]] | None = None, **extra: Any) -> web.Response:
    payload: dict[str, Any] = {"message": message}
    if details:
        payload["details"] = details
    payload.update(extra)
    return json_response(status, payload)


def spec_error(violation: Violation) -> web.Response:
    return error(400, "The request body has 1 error(s)", [violation.as_detail()])


@dataclass
class Call:
    """One Messaging API request as the handlers see it."""

    request: web.Request
    operation: Operation
    request_id: str
    body: Any = None
    raw: bytes = b""
    targets: list[str] = field(default_factory=list)
    retry_key: str | None = None

    @property
    def params(self) -> dict[str, str]:
        return self.request.match_info  # type: ignore[return-value]


Handler = Callable[["LineDouble", Call], Awaitable[web.StreamResponse]]


class LineDouble:
    """State, settings and collaborators of one running double."""

    def __init__(self, config: LineDoubleConfig) -> None:
        from linesim.line.webhook import WebhookSender

        self.config = config
        self.spec = spec_book(config.spec_dir)
        self.clock = Clock()
        self.state = State()
        self.faults = Faults(seed=config.seed)
        self.rate_limiter = RateLimiter(
            enabled=config.rate_limits, overrides=config.rate_limit_overrides, clock=self.clock.monotonic
        )
        self.webhooks = WebhookSender(self)
        self.started_at = time.time()

    def reset(self) -> None:
        self.clock.reset()
        self.state = State()
        self.faults = Faults(seed=self.config.seed)
        self.rate_limiter.reset()

    def record(self, call: Call, status: int, *, lost: bool = False) -> None:
        self.state.recorded.append(
            {
                "requestId": call.request_id,
                "endpoint": call.operation.operation_id,
                "method": call.operation.method,
                "path": call.request.path,
                "status": status,
                # The endpoint answered ``status`` but the answer never reached the client.
                "lost": lost,
                "to": call.targets,
                "retryKey": call.retry_key,
                # The raw bytes, not the parsed body: under load this deque holds 100,000 entries, and bytes are
                # neither large nor tracked by the garbage collector. The control API parses them when asked.
                "body": call.raw,
                "time": time.time(),
            }
        )

    # -- the pipeline ----------------------------------------------------------------------------------------------
    async def handle(self, handler: Handler, operation: Operation, request: web.Request) -> web.StreamResponse:
        call = Call(request=request, operation=operation, request_id=str(uuid.uuid4()))
        try:
            response = await self._checked(handler, call)
        except (asyncio.CancelledError, web.HTTPException):
            raise
        except Exception:  # a bug in the double must still answer like LINE, with a request id
            log.exception("the LINE double failed on %s %s", request.method, request.path)
            response = json_response(500, FAULT_BODIES[500])
        response.headers["X-Line-Request-Id"] = call.request_id
        self.record(call, response.status)
        return response

    async def _checked(self, handler: Handler, call: Call) -> web.StreamResponse:
        request, operation = call.request, call.operation
        if operation.body_is_json:
            # Read first, so that even a refused request is recorded with its body, and so that nothing awaits
            # between the retry-key check and the handler (two requests with one new key can't both pass).
            call.raw = await request.read()
        call.retry_key = request.headers.get("X-Line-Retry-Key")
        if not self._authorized(request.headers.get("Authorization", "")):
            return error(401, AUTH_FAILED)
        if self.faults.active:
            decision = self.faults.decide(operation.operation_id)
            if decision.latency:
                await asyncio.sleep(decision.latency)
            if decision.drop:
                self.record(call, 0)  # recorded as status 0: the client got no answer
                return _drop_connection(request)
            if decision.status:
                return json_response(decision.status, FAULT_BODIES[decision.status])
        if not self.rate_limiter.allow(operation.operation_id):
            return error(429, RATE_LIMITED)
        if call.retry_key is not None:
            rejected = self._check_retry_key(call, call.retry_key)
            if rejected is not None:
                return rejected
        if operation.body_is_json:
            try:
                call.body = orjson.loads(call.raw) if call.raw else None
            except orjson.JSONDecodeError:
                return error(400, "The request body could not be parsed as JSON")
            if call.body is None and operation.body_required:
                return error(400, "The request body has 1 error(s)", [{"message": "must be specified", "property": ""}])
        if self.config.spec_checks:
            violation = operation.check_params(query=request.query, path=request.match_info, headers=request.headers)
            if violation is None and call.body is not None:
                violation = operation.check_body(call.body)
            if violation is None and operation.operation_id in MESSAGE_ENDPOINTS:
                violation = check_message_rules(call.body)
            if violation is not None:
                return spec_error(violation)
        response = await handler(self, call)
        if self.faults.active and self.faults.lose_answer(operation.operation_id):
            self.record(call, response.status, lost=True)
            return _drop_connection(request)
        return response

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return self.config.accept_any_token or token.strip() == self.config.access_token

    def _check_retry_key(self, call: Call, key: str) -> web.Response | None:
        if call.operation.operation_id not in RETRY_KEY_ENDPOINTS:
            return error(400, "The X-Line-Retry-Key header is not supported on this endpoint")
        if not is_uuid(key):
            return error(
                400,
                "The value for the 'X-Line-Retry-Key' header is invalid",
                [{"message": "must be a UUID", "property": "X-Line-Retry-Key"}],
            )
        accepted = self.state.accepted_retry_key(key)
        if accepted is None:
            return None
        extra = {"sentMessages": accepted.sent_messages} if accepted.sent_messages else {}
        response = error(409, "The retry key is already accepted", **extra)
        response.headers["x-line-accepted-request-id"] = accepted.request_id
        return response

    def remember_retry_key(self, call: Call, sent_messages: list[dict[str, str]] | None) -> None:
        """Only an accepted (2xx) request consumes its retry key, so a retry after a 5xx goes through."""
        if call.retry_key:
            from linesim.line.state import AcceptedRetryKey

            self.state.accept_retry_key(
                call.retry_key,
                AcceptedRetryKey(
                    request_id=call.request_id,
                    sent_messages=sent_messages,
                    expires_at=time.monotonic() + self.config.retry_key_ttl,
                ),
            )


DOUBLE = web.AppKey("double", LineDouble)


def _drop_connection(request: web.Request) -> web.Response:
    """Closes the socket without an answer, as a dropped connection looks to the client."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_message_rules(body: Any) -> Violation | None:
    """LINE limits the spec doesn't state: text length in UTF-16 code units, altText length."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for index, message in enumerate(messages or []):
        if not isinstance(message, dict):
            continue
        text = message.get("text")
        if isinstance(text, str) and utf16_units(text) > MAX_TEXT_UTF16_UNITS:
            return Violation(f"Length must be between 0 and {MAX_TEXT_UTF16_UNITS}", f"messages[{index}].text")
        alt_text = message.get("altText")
        if isinstance(alt_text, str) and not 1 <= len(alt_text) <= MAX_ALT_TEXT:
            return Violation(f"Length must be between 1 and {MAX_ALT_TEXT}", f"messages[{index}].altText")
        if message.get("type") == "flex" and isinstance(message.get("contents"), dict):
            violation = _check_flex_container(message["contents"], f"messages[{index}].contents")
            if violation is not None:
                return violation
    return None


def json_size(value: Any) -> int:
    return len(json.dumps(value).encode())


_ASPECT_RATIO = re.compile(r"^([1-9]\d{0,5}):([1-9]\d{0,5})$")
ASPECT_RATIO_RULE = "must be {width}:{height}, each 1 to 100000, the height at most three times the width"


def _aspect_ratio_violation(node: Any, where: str) -> Violation | None:
    """An image's or video's aspectRatio anywhere in a container, as LINE reads it."""
    if isinstance(node, list):
        for number, child in enumerate(node):
            found = _aspect_ratio_violation(child, f"{where}[{number}]")
            if found is not None:
                return found
        return None
    if not isinstance(node, dict):
        return None
    ratio = node.get("aspectRatio")
    if node.get("type") in ("image", "video") and ratio is not None:
        match = _ASPECT_RATIO.match(ratio) if isinstance(ratio, str) else None
        width, height = (int(match[1]), int(match[2])) if match else (0, 0)
        if match is None or width > 100_000 or height > 100_000 or height > 3 * width:
            return Violation(ASPECT_RATIO_RULE, f"{where}.aspectRatio")
    for key, child in node.items():
        if isinstance(child, dict | list):
            found = _aspect_ratio_violation(child, f"{where}.{key}")
            if found is not None:
                return found
    return None


def _check_flex_container(container: dict, where: str) -> Violation | None:
    """A carousel holds at most 12 bubbles; a bubble's JSON is at most 30 KB, a carousel's at most 50 KB; an
    image's aspect ratio is at most 1:3."""
    violation = _aspect_ratio_violation(container, where)
    if violation is not None:
        return violation
    if container.get("type") == "carousel":
        bubbles = container.get("contents") if isinstance(container.get("contents"), list) else []
        if not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
            return Violation(f"Size must be between 1 and {MAX_CAROUSEL_BUBBLES}", f"{where}.contents")
        for number, bubble in enumerate(bubbles):
            if isinstance(bubble, dict) and json_size(bubble) > MAX_BUBBLE_BYTES:
                return Violation(f"Size must be at most {MAX_BUBBLE_BYTES} bytes", f"{where}.contents[{number}]")
        if json_size(container) > MAX_CAROUSEL_BYTES:
            return Violation(f"Size must be at most {MAX_CAROUSEL_BYTES} bytes", where)
    elif container.get("type") == "bubble" and json_size(container) > MAX_BUBBLE_BYTES:
        return Violation(f"Size must be at most {MAX_BUBBLE_BYTES} bytes", where)
    return None


def create_app(config: LineDoubleConfig | None = None) -> web.Application:
    """The aiohttp application of one double; ``app[DOUBLE]`` is its LineDouble."""
    from linesim.line import audiences, control, insight, insight_control, messaging, richmenus

    config = config or LineDoubleConfig()
    double = LineDouble(config)
    app = web.Application(client_max_size=20 * 1024**2)
    app[DOUBLE] = double
    routes = [*messaging.ROUTES, *richmenus.ROUTES, *insight.ROUTES, *audiences.ROUTES]
    # Literal paths before templated ones, so /v2/bot/richmenu/list never matches /v2/bot/richmenu/{richMenuId}.
    routes.sort(key=lambda route: route[1].count("{"))
    for method, path, handler in routes:
        operation = double.spec.operation(method, path)
        app.router.add_route(method, path, functools.partial(double.handle, handler, operation))
    control.add_routes(app, double)
    insight_control.add_routes(app, double)
    templates = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$") for _, path, _ in routes]
    app.router.add_route("*", "/{tail:.*}", functools.partial(_unknown_route, templates))
    app.on_cleanup.append(lambda _app: double.webhooks.close())
    return app


async def _unknown_route(templates: list[re.Pattern[str]], request: web.Request) -> web.Response:
    if any(template.match(request.path) for template in templates):
        response = error(405, "Method not allowed")
    else:
        response = error(404, "Not found")
    response.headers["X-Line-Request-Id"] = str(uuid.uuid4())
    return response
