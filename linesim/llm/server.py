"""An OpenAI-compatible chat completions server that stands in for Azure OpenAI and OpenAI.

Paths:

* ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (Azure; ``api-key`` header);
* ``POST /v1/chat/completions`` (OpenAI; ``Authorization: Bearer``).

Answers follow :mod:`linesim.llm.replies`.  The control API under ``/_control/`` sets
latency, token rate and faults, returns the recorded requests and resets the double;
see :mod:`linesim.llm.faults` for the fault kinds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from linesim.llm import replies
from linesim.llm.faults import FaultBook, FaultRule
from linesim.llm.validation import InvalidRequest, check_chat_request, compact_body

DEFAULT_API_KEY = "local-llm-key"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_FILTER_SAFE = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}
_FILTER_HIT = {**_FILTER_SAFE, "violence": {"filtered": True, "severity": "high"}}


@dataclass
class Options:
    api_key: str = DEFAULT_API_KEY
    latency_ms: int = 0
    tokens_per_second: float = 0.0  # 0: as fast as possible
    seed: int = 0
    max_recorded: int = 1000


class DoubleState:
    def __init__(self, options: Options):
        self.initial = options
        self.api_key = options.api_key
        self.max_recorded = options.max_recorded
        self.faults = FaultBook(options.seed)
        self.recorded: deque[dict] = deque(maxlen=options.max_recorded)
        # Answers a test wrote, handed out in order before the rules of linesim.llm.replies apply.
        self.scripted: list[dict] = []
        self.release = asyncio.Event()
        self.sequence = 0
        self.apply_config(latency_ms=options.latency_ms, tokens_per_second=options.tokens_per_second)

    def apply_config(self, *, latency_ms=None, tokens_per_second=None) -> None:
        if latency_ms is not None:
            if not isinstance(latency_ms, int | float) or latency_ms < 0:
                raise ValueError("latency_ms must be a number >= 0")
            self.latency_ms = latency_ms
        if tokens_per_second is not None:
            if not isinstance(tokens_per_second, int | float) or tokens_per_second < 0:
                raise ValueError("tokens_per_second must be a number >= 0")
            self.tokens_per_second = tokens_per_second

    def config(self) -> dict:
        return {"latency_ms": self.latency_ms, "tokens_per_second": self.tokens_per_second}

    def reset(self) -> None:
        self.release_hangs()
        self.faults = FaultBook(self.initial.seed)
        self.recorded.clear()
        self.scripted.clear()
        self.sequence = 0
        self.apply_config(latency_ms=self.initial.latency_ms, tokens_per_second=self.initial.tokens_per_second)

    def release_hangs(self) -> None:
        # Requests hanging for a timeout fault end now; later ones wait on a fresh event.
        self.release.set()
        self.release = asyncio.Event()

    async def hang(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.release.wait(), seconds)
        except TimeoutError:
            pass

    def take_scripted(self, messages: list[dict]) -> str | None:
        """The first scripted answer whose ``match`` occurs in the request's texts (or that has none), used up."""
        texts = "\n".join(replies.text_of(message.get("content")) for message in messages)
        for index, answer in enumerate(self.scripted):
            if not answer.get("match") or answer["match"] in texts:
                del self.scripted[index]
                return answer["text"]
        return None

    def next_id(self, body: dict) -> str:
        self.sequence += 1
        digest = hashlib.sha256(f"{self.initial.seed}:{self.sequence}:{json.dumps(body, sort_keys=True)}".encode())
        return digest.hexdigest()[:29]


STATE = web.AppKey("state", DoubleState)


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
    completion = _Completion(state.next_id(record["body"]), model, provider, body, reply, fault)
    if body.get("stream"):
        return await _stream(request, state, completion)
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
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": _FILTER_HIT},
        }
        return web.json_response({"error": error}, status=400)
    if fault.kind == "disconnect":
        request.transport.close()
        raise asyncio.CancelledError
    return None


def _headers(request_id: str) -> dict:
    return {"x-request-id": request_id, "apim-request-id": request_id, "openai-processing-ms": "1"}


class _Completion:
    """One answer, rendered whole or as stream chunks."""

    def __init__(self, id_, model, provider, body, reply: replies.Reply, fault: FaultRule | None):
        self.id = f"chatcmpl-{id_}"
        self.model = model
        self.provider = provider
        self.created = int(time.time())
        self.fault = fault
        self.reply = reply
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.tokens = replies.split_tokens(reply.text or "")
        self.finish_reason = reply.finish_reason
        max_tokens = body.get("max_tokens")
        if max_tokens and len(self.tokens) > max_tokens and not reply.tool_call:
            self.tokens = self.tokens[:max_tokens]
            self.finish_reason = "length"
        if fault is not None and fault.kind == "content_filter":
            # The filter cuts the answer off halfway.
            self.tokens = self.tokens[: len(self.tokens) // 2]
            self.finish_reason = "content_filter"
        self.usage = {
            "prompt_tokens": replies.prompt_tokens(body["messages"]),
            "completion_tokens": replies.completion_tokens(reply) if reply.tool_call else len(self.tokens),
        }
        self.usage["total_tokens"] = self.usage["prompt_tokens"] + self.usage["completion_tokens"]
        self.tool_call_id = f"call_{hashlib.sha256(self.id.encode()).hexdigest()[:24]}"

    def _envelope(self, obj: str) -> dict:
        envelope = {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_linesim",
        }
        return envelope

    def _filter_results(self) -> dict:
        return _FILTER_HIT if self.finish_reason == "content_filter" else _FILTER_SAFE

    def _prompt_filter_results(self) -> list:
        return [{"prompt_index": 0, "content_filter_results": _FILTER_SAFE}]

    def whole(self) -> dict:
        message = {
            "role": "assistant",
            "content": "".join(self.tokens) if not self.reply.tool_call else None,
            "refusal": None,
        }
        if self.reply.tool_call:
            message["tool_calls"] = [
                {
                    "id": self.tool_call_id,
                    "type": "function",
                    "function": {"name": self.reply.tool_call.name, "arguments": self.reply.tool_call.arguments},
                }
            ]
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason, "logprobs": None}
        out = {**self._envelope("chat.completion"), "choices": [choice], "usage": self.usage}
        if self.provider == "azure":
            choice["content_filter_results"] = self._filter_results()
            out["prompt_filter_results"] = self._prompt_filter_results()
        return out

    def _chunk(self, delta: dict | None, finish_reason=None, *, filter_results=True) -> dict:
        choices = []
        if delta is not None:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            if self.provider == "azure" and filter_results:
                choice["content_filter_results"] = self._filter_results() if finish_reason else _FILTER_SAFE
            choices.append(choice)
        chunk = {**self._envelope("chat.completion.chunk"), "choices": choices}
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def leading_chunks(self) -> list[dict]:
        chunks = []
        if self.provider == "azure":
            # Azure's first chunk carries only the prompt's filter results, no choices.
            chunks.append(
                {
                    "choices": [],
                    "created": 0,
                    "id": "",
                    "model": "",
                    "object": "",
                    "prompt_filter_results": self._prompt_filter_results(),
                }
            )
        if self.fault is not None and self.fault.kind == "empty_first_chunk":
            chunks.append({**self._envelope("chat.completion.chunk"), "choices": []})
            chunks.append(self._chunk({"role": "assistant", "content": ""}, filter_results=False))
            chunks.append(self._chunk({}, filter_results=False))
            chunks.append(self._chunk({"content": None}))
        else:
            chunks.append(self._chunk({"role": "assistant", "content": "", "refusal": None}, filter_results=False))
        return chunks

    def body_chunks(self) -> list[dict]:
        if self.reply.tool_call:
            call = self.reply.tool_call
            half = len(call.arguments) // 2
            return [
                self._chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": self.tool_call_id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    }
                ),
                self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": call.arguments[:half]}}]}),
                self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": call.arguments[half:]}}]}),
            ]
        return [self._chunk({"content": token}) for token in self.tokens]

    def closing_chunks(self) -> list[dict]:
        chunks = [self._chunk({}, self.finish_reason)]
        if self.include_usage:
            chunks.append({**self._envelope("chat.completion.chunk"), "choices": [], "usage": self.usage})
        return chunks


async def _stream(request, state: DoubleState, completion: _Completion) -> web.StreamResponse:
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
        await response.write(b"".join(_event(chunk) for chunk in chunks) + b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    for chunk in completion.leading_chunks():
        await response.write(_event(chunk))
    delay = 1 / state.tokens_per_second if state.tokens_per_second else 0
    for i, chunk in enumerate(completion.body_chunks()):
        if delay:
            await asyncio.sleep(delay)
        await response.write(_event(chunk))
        if i == 0 and fault == "stall":
            await state.hang(completion.fault.hang_seconds)
        if i == 0 and fault == "stream_error":
            # How OpenAI reports a failure after the stream began: an error event, then the end.
            error = {"message": "The server had an error while processing your request.", "type": "server_error"}
            await response.write(_event({"error": error}))
            await response.write_eof()
            return response
    for chunk in completion.closing_chunks():
        await response.write(_event(chunk))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _event(chunk: dict) -> bytes:
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"


# --- control API --------------------------------------------------------------------------------
async def _json_body(request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be JSON"}), content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be an object"}), content_type="application/json")
    return body


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def control_health(request):
    return web.json_response({"status": "ok"})


async def control_get_config(request):
    return web.json_response(request.app[STATE].config())


async def control_set_config(request):
    body = await _json_body(request)
    unknown = set(body) - {"latency_ms", "tokens_per_second"}
    if unknown:
        return _bad(f"unknown keys: {sorted(unknown)}")
    try:
        request.app[STATE].apply_config(**body)
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response(request.app[STATE].config())


async def control_get_faults(request):
    return web.json_response({"faults": request.app[STATE].faults.describe()})


async def control_add_faults(request):
    body = await _json_body(request)
    rules = body.get("faults", [body])
    if not isinstance(rules, list):
        return _bad("faults must be an array")
    try:
        parsed = [FaultRule.from_json(rule) for rule in rules]
    except ValueError as exc:
        return _bad(str(exc))
    book = request.app[STATE].faults
    for rule in parsed:
        book.add(rule)
    return web.json_response({"faults": book.describe()})


async def control_clear_faults(request):
    state = request.app[STATE]
    state.faults.clear()
    state.release_hangs()
    return web.json_response({"faults": []})


async def control_requests(request):
    return web.json_response({"requests": list(request.app[STATE].recorded)})


async def control_clear_requests(request):
    request.app[STATE].recorded.clear()
    return web.json_response({"requests": []})


async def control_get_script(request):
    return web.json_response({"answers": request.app[STATE].scripted})


async def control_add_script(request):
    body = await _json_body(request)
    answers = body.get("answers")
    if not isinstance(answers, list) or not answers:
        return _bad("answers must be a non-empty array of {text, match?}")
    parsed = []
    for answer in answers:
        if not isinstance(answer, dict) or set(answer) - {"text", "match"} or not isinstance(answer.get("text"), str):
            return _bad("each answer is an object with a text (string) and optionally a match (string)")
        if not answer["text"]:
            return _bad("an answer's text must not be empty (the services never stream an empty answer)")
        if "match" in answer and not isinstance(answer["match"], str):
            return _bad("match must be a string")
        parsed.append({"text": answer["text"], "match": answer.get("match") or ""})
    state = request.app[STATE]
    state.scripted.extend(parsed)
    return web.json_response({"answers": state.scripted})


async def control_clear_script(request):
    request.app[STATE].scripted.clear()
    return web.json_response({"answers": []})


async def control_reset(request):
    request.app[STATE].reset()
    return web.json_response({"status": "reset"})


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
            web.get("/_control/health", control_health),
            web.get("/_control/config", control_get_config),
            web.post("/_control/config", control_set_config),
            web.get("/_control/faults", control_get_faults),
            web.post("/_control/faults", control_add_faults),
            web.delete("/_control/faults", control_clear_faults),
            web.get("/_control/requests", control_requests),
            web.delete("/_control/requests", control_clear_requests),
            web.get("/_control/script", control_get_script),
            web.post("/_control/script", control_add_script),
            web.delete("/_control/script", control_clear_script),
            web.post("/_control/reset", control_reset),
        ]
    )
    return app
