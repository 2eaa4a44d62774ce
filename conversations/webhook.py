"""``POST /line/webhook``: verify, store, queue, acknowledge. Nothing slow happens here."""

from __future__ import annotations

import json
import time

import orjson
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from prometheus_client import Counter, Histogram

from conversations import tunables
from conversations.services import webhook_events_store
from conversations.tasks import webhook_events_enqueue
from core import correlation
from core.api import error_body
from core.client_ip import resolve as client_ip
from core.line.signature import signature_is_valid
from core.logging import get_logger

log = get_logger(__name__)

# The hot path only touches these in memory (an mmap write in multiprocess mode); the dashboard
# ticker reads them from another process.
WEBHOOK_EVENTS = Counter("webhook_events_total", "Events in LINE webhook posts that were accepted")
WEBHOOK_ACK_SECONDS = Histogram(
    "webhook_ack_seconds",
    "Time to answer a LINE webhook post",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
WEBHOOK_REJECTED = Counter("webhook_rejected_total", "LINE webhook posts refused, by reason", ["reason"])


def _error(status: int, code: str, message: str) -> JsonResponse:
    WEBHOOK_REJECTED.labels(reason=code).inc()
    return JsonResponse(error_body(code=code, message=message), status=status)


def _read_body(request: HttpRequest, declared: str, limit: int) -> bytes | None:
    """The raw body, or None when it is, or says it is, larger than ``limit``."""
    if declared and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _security_event(request: HttpRequest, reason: str) -> None:
    log.warning(
        "security_line_webhook_rejected",
        reason=reason,
        remote_addr=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
    )


def _without_nul(value):
    """PostgreSQL text cannot hold U+0000; it is replaced, the rest of the event kept."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes):
    """Any standard JSON document; raises ValueError otherwise.

    orjson is fast but refuses integers beyond 64 bits, which are valid JSON, so the
    standard library parses what orjson turns down (still refusing NaN and Infinity).
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body, parse_constant=_refuse_constant)


def _valid_shape(payload) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("events"), list)
        and all(isinstance(event, dict) for event in payload["events"])
        and isinstance(payload.get("destination", ""), str)
    )


@csrf_exempt
@require_POST
def line_webhook(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    response = _accept(request)
    WEBHOOK_ACK_SECONDS.observe(time.perf_counter() - started)
    return response


def _accept(request: HttpRequest) -> HttpResponse:
    declared = (request.META.get("CONTENT_LENGTH") or "").strip()
    if declared and not declared.isdigit():
        return _error(400, "invalid", "Content-Length is not a number.")
    body = _read_body(request, declared, tunables.webhook_max_body_bytes())
    if body is None:
        return _error(413, "payload_too_large", "The body is larger than 1 MiB.")
    signature = request.headers.get("X-Line-Signature")
    if not signature:
        _security_event(request, "missing_signature")
        return _error(400, "missing_signature", "X-Line-Signature is required.")
    if not signature_is_valid(body, signature):
        _security_event(request, "bad_signature")
        return _error(401, "bad_signature", "X-Line-Signature does not match the body.")
    try:
        payload = _parse_json(body)
    except ValueError:
        return _error(400, "malformed_json", "The body is not valid JSON.")
    if b"\\u0000" in body:
        payload = _without_nul(payload)
    if not _valid_shape(payload):
        return _error(400, "invalid", "The body must be an object with an events list of objects.")
    stored = webhook_events_store(payload=payload, correlation_id=correlation.current())
    WEBHOOK_EVENTS.inc(len(stored))
    to_process = [s.id for s in stored if s.queued]
    # Under the outbox the insert is the whole ack: the relay publishes (conversations.relay).
    if to_process and settings.CONVERSATION_DISPATCH != "outbox":
        transaction.on_commit(lambda: webhook_events_enqueue(event_ids=to_process))
    log.info(
        "line_webhook_accepted",
        events=len(stored),
        new=sum(1 for s in stored if s.created),
        queued=sum(1 for s in stored if s.queued),
    )
    return JsonResponse({})
