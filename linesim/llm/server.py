"""An OpenAI-compatible chat completions server that stands in for Azure OpenAI and OpenAI.

Paths:

* ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (Azure; ``api-key`` header);
* ``POST /v1/chat/completions`` (OpenAI; ``Authorization: Bearer``).

Answers follow :mod:`linesim.llm.replies`, rendered by :mod:`linesim.llm.completion`.  The control API
under ``/_control/`` (:mod:`linesim.llm.control`) sets latency, token rate and faults, returns the
recorded requests and resets the double; see :mod:`linesim.llm.faults` for the fault kinds.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import time

from aiohttp import web

from linesim.llm import control, replies
from linesim.llm.completion import FILTER_HIT, Completion, event
from linesim.llm.faults import FaultRule
from linesim.llm.state import STATE, DoubleState, Options
from linesim.llm.validation import InvalidRequest, check_chat_request, compact_body

_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


# --- errors in each provider's shape ---------------------------------------------------------
def _error(provider: str, status: int, message: str, *, code=None, param=None, type_=None, headers=None):
    if provider == "azure":
        error = {"code": code or str(status), "message": message}
        if param or type_:
            error.update({"param": param, "type": type_})
    else:
        error = {"message": message, "type": type_ or "invalid_request_error", "param": param, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers)


def _unauthorized(provider: str, request: web.Request) -> web.Response:
    if provider == "azure":
        return _error(
            "azure",
            401,
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
            "for an active subscription and use a correct regional API endpoint for your resource.",
        )
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return _error(
            "openai",
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    key = header[7:].strip()
    shown = f"{key[:3]}***{key[-4:]}" if len(key) > 10 else "***"
    return _error("openai", 401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")


# --- the completions endpoint -----------------------------------------------------------------
async def azure_chat(request: web.Request) -> web.StreamResponse:
    version = request.query.get("api-version")
    deployment = request.match_info["deployment"]
    if not version or not _API_VERSION.match(version):
        # Azure answers a missing or unknown api-version with a bare 404.
        return await _handle(request, "azure", deployment, early=_error("azure", 404, "Resource not found"))
    return await _handle(request, "azure", deployment)


async def openai_chat(request: web.Request) -> web.StreamResponse:
    return await _handle(request, "openai", None)


async def _handle(request, provider, deployment, early=None) -> web.StreamResponse:
    state = request.app[STATE]
    record = {
        "provider": provider,
        "path": request.path,
        "deployment": deployment,
        "api_version": request.query.get("api-version"),
        "retry_count": _retry_count(request),
        "received_at": time.time(),
        "body": None,
        "images": [],
        "status": None,
        "fault": None,
        "scripted": False,
        # The client's end of the TCP connection: requests that share it came over one kept-alive connection.
        "connection": _peer(request),
    }
    state.recorded.append(record)
    response = await _answer(request, state, provider, deployment, record, early)
    record["status"] = response.status
    return response


def _peer(request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return f"{peer[0]}:{peer[1]}" if peer else ""


def _retry_count(request) -> int:
    # The openai SDK numbers its retries in this header; 0 is the first attempt.
    try:
        return int(request.headers.get("x-stainless-retry-count", "0"))
    except ValueError:
        return 0


def _authorized(request, provider, state) -> bool:
    sent = request.headers.get("api-key" if provider == "azure" else "Authorization", "")
    expected = state.api_key if provider == "azure" else f"Bearer {state.api_key}"
    return hmac.compare_digest(sent.encode(), expected.encode())


async def _answer(request, state, provider, deployment, record, early) -> web.StreamResponse:
    if early is not None:
        return early
    if not _authorized(request, provider, state):
        return _unauthorized(provider, request)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(provider, 400, "We could not parse the JSON body of your request.", type_="invalid_request_error")
    record["body"] = compact_body(body)
    try:
        record["images"] = check_chat_request(body, model_required=provider == "openai")
    except InvalidRequest as exc:
        return _error(provider, 400, exc.message, code=exc.code, param=exc.param, type_="invalid_request_error")

    fault = state.faults.draw(provider)
    record["fault"] = fault.kind if fault else None
    if state.latency_ms:
        await asyncio.sleep(state.latency_ms / 1000)
    if fault is not None:
        failed = await _apply_early_fault(request, state, provider, fault)
        if failed is not None:
            return failed

    model = deployment if provider == "azure" else body["model"]
    scripted = state.take_scripted(body["messages"])
    if scripted is not None:
        reply = replies.Reply(scripted)
        record["scripted"] = True
    else:
        reply = replies.plan_reply(
            body["messages"], body.get("tools"), body.get("tool_choice"), body.get("response_format")
        )
    completion = Completion(state.next_id(record["body"]), model, provider, body, reply, fault)
    if body.get("stream"):
        return await _stream(request, state, completion)
    if fault is not None and fault.kind == "stall":
        # A whole answer has no first token to send: the model holds all of it.
        await state.hang(fault.hang_seconds)
    if state.tokens_per_second and completion.tokens:
        await asyncio.sleep(len(completion.tokens) / state.tokens_per_second)
    return web.json_response(completion.whole(), headers=_headers(completion.id))


async def _apply_early_fault(request, state, provider, fault: FaultRule) -> web.StreamResponse | None:
    if fault.kind == "429":
        seconds = fault.retry_after
        message = (
            "Requests to the ChatCompletions_Create Operation have exceeded the token rate limit of your current "
            f"pricing tier. Please retry after {max(1, round(seconds))} seconds."
        )
        headers = {"retry-after": str(max(1, round(seconds))), "retry-after-ms": str(int(seconds * 1000))}
        return _error(
            provider,
            429,
            message,
            code="429" if provider == "azure" else "rate_limit_exceeded",
            type_=None if provider == "azure" else "requests",
            headers=headers,
        )
    if fault.kind == "500":
        return _error(
            provider,
            500,
            "The server had an error while processing your request. Sorry about that!",
            code="InternalServerError" if provider == "azure" else None,
            type_=None if provider == "azure" else "server_error",
        )
    if fault.kind == "timeout":
        await state.hang(fault.hang_seconds)
        return _error(provider, 408, "The operation was timeout.", code="Timeout")
    if fault.kind == "prompt_filter":
        error = {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management "
            "policy. Please modify your prompt and retry.",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": FILTER_HIT},
        }
        return web.json_response({"error": error}, status=400)
    if fault.kind == "disconnect":
        request.transport.close()
        raise asyncio.CancelledError
    return None


def _headers(request_id: str) -> dict:
    return {"x-request-id": request_id, "apim-request-id": request_id, "openai-processing-ms": "1"}


async def _stream(request, state: DoubleState, completion: Completion) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            **_headers(completion.id),
        }
    )
    await response.prepare(request)
    fault = completion.fault.kind if completion.fault is not None else None
    paced = bool(state.tokens_per_second) or fault in ("stall", "stream_error")
    if not paced:
        # Nothing to wait for between chunks: one write keeps the double cheap under load.
        chunks = [*completion.leading_chunks(), *completion.body_chunks(), *completion.closing_chunks()]
        await response.write(b"".join(event(chunk) for chunk in chunks) + b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    for chunk in completion.leading_chunks():
        await response.write(event(chunk))
    delay = 1 / state.tokens_per_second if state.tokens_per_second else 0
    for i, chunk in enumerate(completion.body_chunks()):
        if delay:
            await asyncio.sleep(delay)
        await response.write(event(chunk))
        if i == 0 and fault == "stall":
            await state.hang(completion.fault.hang_seconds)
        if i == 0 and fault == "stream_error":
            # How OpenAI reports a failure after the stream began: an error event, then the end.
            error = {"message": "The server had an error while processing your request.", "type": "server_error"}
            await response.write(event({"error": error}))
            await response.write_eof()
            return response
    for chunk in completion.closing_chunks():
        await response.write(event(chunk))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def build_app(options: Options | None = None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = DoubleState(options or Options())

    async def release_on_shutdown(app):
        app[STATE].release_hangs()

    app.on_shutdown.append(release_on_shutdown)
    app.add_routes(
        [
            web.post("/openai/deployments/{deployment}/chat/completions", azure_chat),
            web.post("/v1/chat/completions", openai_chat),
            web.get("/_control/health", control.control_health),
            web.get("/_control/config", control.control_get_config),
            web.post("/_control/config", control.control_set_config),
            web.get("/_control/faults", control.control_get_faults),
            web.post("/_control/faults", control.control_add_faults),
            web.delete("/_control/faults", control.control_clear_faults),
            web.get("/_control/requests", control.control_requests),
            web.delete("/_control/requests", control.control_clear_requests),
            web.get("/_control/script", control.control_get_script),
            web.post("/_control/script", control.control_add_script),
            web.delete("/_control/script", control.control_clear_script),
            web.post("/_control/reset", control.control_reset),
        ]
    )
    return app
