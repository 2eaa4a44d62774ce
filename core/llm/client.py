"""The one client for the language model (Azure OpenAI, OpenAI or an OpenAI-compatible server).

Every call asks for the answer whole: it goes to LINE whole, and a streamed answer would cost the
worker a parsed event per token (:mod:`core.llm.completion`).

Failure handling, from the inside out:

* the SDK's own retries (``LLM_MAX_RETRIES``) for 408/409/429/5xx and connection
  errors, honouring ``retry-after`` up to ``LLM_MAX_RETRY_AFTER`` seconds; a longer
  wait is not retried, so the user hears back at once instead of after minutes;
* timeouts: ``LLM_CONNECT_TIMEOUT`` and ``LLM_READ_TIMEOUT`` (the wait for the whole answer) per attempt, plus an
  overall deadline ``LLM_TOTAL_TIMEOUT`` for the whole answer, tool rounds included;
* a circuit breaker (pybreaker's, by way of :mod:`core.breakers`, so that a process's
  calls run side by side): after ``LLM_BREAKER_FAIL_MAX`` retryable failures in a row it
  opens and calls fail at once for ``LLM_BREAKER_RESET_TIMEOUT`` seconds, then one call probes.

Every failure surfaces as :class:`core.errors.LLMError` (``retryable`` is set for
rate limits, 5xx, timeouts, connection failures and an open breaker).  A
filtered prompt or answer raises :class:`ContentFilteredError`, an ``LLMError``
whose ``code`` is ``"llm_content_filtered"``: callers apologise instead of sending
a partial answer.  An answer without text raises ``LLMError`` too, and so does a
missing configuration (:class:`LLMConfigurationError`, also a ``ConfigurationError``).

Usage::

    from core.llm.client import get_llm_client
    from core.llm.search import web_search_tool

    tools = [t for t in [web_search_tool()] if t]
    result = get_llm_client().chat(messages, temperature=0.3, max_tokens=800, tools=tools or None, user=pseudonym)
    result.text, result.prompt_tokens, result.completion_tokens, result.latency_ms

``response_format`` is passed on as the API takes it, e.g. ``{"type": "json_schema", "json_schema": {...}}`` for
an answer that is a JSON object of a given shape (callers still parse it defensively).

``messages`` are OpenAI chat messages; a user message's content may be a list of parts,
``{"type": "text", "text": ...}`` and ``{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,..."}}``.
Token counts and latency cover the whole answer, tool rounds included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pybreaker
from django.conf import settings
from prometheus_client import Counter, Histogram

from core.breakers import CircuitBreaker
from core.errors import LLMError
from core.lazy import LazyModule, ProcessWide
from core.llm.completion import Round, ToolCall, round_read
from core.llm.failures import ContentFilteredError, LLMConfigurationError, map_sdk_error, no_retry_after_long_waits
from core.llm.tokens import estimate_tokens
from core.logging import get_logger

log = get_logger(__name__)

# Imported on first use: the openai SDK takes about a second to import, and only workers call it.
openai = LazyModule("openai")
httpx2 = LazyModule("httpx2")

LLM_LATENCY = Histogram(
    "llm_request_seconds",
    "Time to a complete answer from the language model",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
LLM_TOKENS = Counter("llm_tokens_total", "Tokens used by language model calls", ["kind"])
LLM_FAILURES = Counter("llm_failures_total", "Failed language model calls", ["code"])
LLM_BREAKER_CHANGES = Counter("llm_circuit_state_changes_total", "LLM circuit breaker transitions", ["state"])


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call.

    ``handler`` receives the model's arguments as keyword arguments and returns the
    text handed back to the model.  An exception in the handler is not fatal: the
    model is told the tool failed and answers without it.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[..., str]

    def as_openai_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    finish_reason: str
    model: str


def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class _BreakerListener(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state):
        LLM_BREAKER_CHANGES.labels(state=new_state.name).inc()
        log.warning("llm_circuit_state_changed", old=old_state.name if old_state else None, new=new_state.name)


def _counts_against_breaker(error: BaseException) -> bool:
    # Only a sick or overloaded service should open the breaker; a refused prompt
    # or a bad request says nothing about the service's health.
    return isinstance(error, LLMError) and error.retryable


class LLMClient:
    def __init__(
        self,
        sdk_client: openai.OpenAI,
        *,
        default_model: str,
        total_timeout: float = 60.0,
        max_tool_rounds: int = 3,
        breaker_fail_max: int = 5,
        breaker_reset_timeout: float = 30.0,
    ):
        self.sdk = sdk_client
        self.default_model = default_model
        self.total_timeout = total_timeout
        self.max_tool_rounds = max_tool_rounds
        self.breaker = CircuitBreaker(
            fail_max=breaker_fail_max,
            reset_timeout=breaker_reset_timeout,
            exclude=[lambda e: not _counts_against_breaker(e)],
            listeners=[_BreakerListener()],
            throw_new_error_on_trip=False,
            name="llm",
        )

    @property
    def breaker_state(self) -> str:
        return self.breaker.current_state

    def chat(
        self,
        messages: list[dict],
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: list[ToolSpec] | None = None,
        user: str | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatResult:
        if not messages:
            raise LLMError("A chat needs at least one message.")
        started = time.monotonic()
        try:
            result = self.breaker.call(
                self._chat,
                list(messages),
                model or self.default_model,
                temperature,
                max_tokens,
                tools or [],
                user,
                response_format,
            )
        except pybreaker.CircuitBreakerError as exc:
            LLM_FAILURES.labels(code="circuit_open").inc()
            raise LLMError(
                "The language model is unavailable for now.", retryable=True, details={"circuit": "open"}
            ) from exc
        except LLMError as exc:
            LLM_FAILURES.labels(code=exc.code if exc.status is None else f"{exc.code}_{exc.status}").inc()
            log.warning(
                "llm_call_failed",
                code=exc.code,
                status=exc.status,
                retryable=exc.retryable,
                elapsed_ms=int((time.monotonic() - started) * 1000),
            )
            raise
        LLM_LATENCY.observe(result.latency_ms / 1000)
        LLM_TOKENS.labels(kind="prompt").inc(result.prompt_tokens)
        LLM_TOKENS.labels(kind="completion").inc(result.completion_tokens)
        log.info(
            "llm_call",
            model=result.model,
            latency_ms=result.latency_ms,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            finish_reason=result.finish_reason,
        )
        return result

    # --- one chat, tool rounds included -----------------------------------------------------
    def _chat(self, messages, model, temperature, max_tokens, tools, user, response_format) -> ChatResult:
        started = time.monotonic()
        deadline = started + self.total_timeout
        by_name = {tool.name: tool for tool in tools}
        prompt_tokens = completion_tokens = 0
        rounds = 0
        while True:
            offer_tools = bool(tools) and rounds < self.max_tool_rounds
            # After the last allowed round the tools stay described (the history refers to
            # them) but the model must answer in words.
            current = self._round(
                messages,
                model=model,
                temperature=temperature,
                max_tokens=max_tokens,
                tools=tools if offer_tools or rounds else None,
                tool_choice="auto" if offer_tools else "none",
                user=user,
                response_format=response_format,
                deadline=deadline,
            )
            prompt_tokens += current.prompt_tokens or 0
            completion_tokens += current.completion_tokens or 0
            if current.finish_reason == "content_filter":
                raise ContentFilteredError(details={"finish_reason": "content_filter"})
            if not current.tool_calls or not offer_tools:
                break
            rounds += 1
            messages = messages + self._run_tools(current, by_name)
        if not current.text.strip():
            raise LLMError("The language model gave an empty answer.", details={"finish_reason": current.finish_reason})
        return ChatResult(
            text=current.text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=int((time.monotonic() - started) * 1000),
            finish_reason=current.finish_reason or "stop",
            model=current.model or model,
        )

    def _run_tools(self, current: Round, by_name: dict[str, ToolSpec]) -> list[dict]:
        calls = [current.tool_calls[i] for i in sorted(current.tool_calls)]
        added: list[dict] = [
            {
                "role": "assistant",
                "content": current.text or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ],
            }
        ]
        for call in calls:
            added.append({"role": "tool", "tool_call_id": call.id, "content": self._run_tool(call, by_name)})
        return added

    def _run_tool(self, call: ToolCall, by_name: dict[str, ToolSpec]) -> str:
        tool = by_name.get(call.name)
        if tool is None:
            return f"error: there is no tool named {call.name!r}"
        try:
            arguments = json.loads(call.arguments or "{}")
            if not isinstance(arguments, dict):
                raise TypeError("arguments must be a JSON object")
        except (ValueError, TypeError):
            return "error: the tool arguments were not a JSON object"
        try:
            output = tool.handler(**arguments)
        except Exception as exc:  # noqa: BLE001 - a failing tool must not end the chat
            log.warning("llm_tool_failed", tool=call.name, error=type(exc).__name__)
            return f"error: {call.name} failed ({getattr(exc, 'message', None) or type(exc).__name__})"
        return str(output)

    # --- one completion ---------------------------------------------------------------------
    def _round(
        self, messages, *, model, temperature, max_tokens, tools, tool_choice, user, response_format, deadline
    ) -> Round:
        # The body goes out as plain JSON through the SDK's own request path (retries, auth, Azure's
        # deployment URL, errors): the typed `create()` walks `messages` through its TypedDict unions
        # and builds pydantic models of the answer. The answer comes back as the dict it is on the wire.
        kwargs: dict[str, Any] = {"model": model, "messages": messages}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if tools:
            kwargs["tools"] = [tool.as_openai_tool() for tool in tools]
            kwargs["tool_choice"] = tool_choice
        if user:
            kwargs["user"] = user
        if response_format:
            kwargs["response_format"] = response_format
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LLMError("The language model did not answer in time.", retryable=True)
        try:
            body = self.sdk.post(
                "/chat/completions",
                body=kwargs,
                cast_to=object,
                options={"timeout": self._attempt_timeout(remaining)},
            )
        except openai.APIError as exc:
            raise map_sdk_error(exc) from exc
        current = round_read(body)
        if current.prompt_tokens is None:
            current.prompt_tokens = sum(estimate_tokens(_message_text(m)) for m in messages)
        if current.completion_tokens is None:
            current.completion_tokens = estimate_tokens(current.text)
        return current

    def _attempt_timeout(self, remaining: float) -> httpx2.Timeout:
        # No single attempt may outlive what is left of the whole answer's deadline.
        base = self.sdk.timeout
        read = base.read if isinstance(base, httpx2.Timeout) else base
        connect = base.connect if isinstance(base, httpx2.Timeout) else base
        read = min(read or remaining, remaining)
        connect = min(connect or remaining, remaining)
        return httpx2.Timeout(read, connect=connect, write=read, pool=connect)


# --- the process-wide client ----------------------------------------------------------------
def build_llm_client() -> LLMClient:
    timeout = openai.Timeout(
        settings.LLM_READ_TIMEOUT, connect=settings.LLM_CONNECT_TIMEOUT, write=settings.LLM_READ_TIMEOUT
    )
    http_client = openai.DefaultHttpxClient(
        timeout=timeout, event_hooks={"response": [no_retry_after_long_waits(settings.LLM_MAX_RETRY_AFTER)]}
    )
    common = {"timeout": timeout, "max_retries": settings.LLM_MAX_RETRIES, "http_client": http_client}
    if settings.LLM_PROVIDER == "azure":
        if not (settings.AZURE_OPENAI_ENDPOINT and settings.AZURE_OPENAI_API_KEY and settings.AZURE_OPENAI_DEPLOYMENT):
            raise LLMConfigurationError(
                "Azure OpenAI needs AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and AZURE_OPENAI_DEPLOYMENT."
            )
        sdk: openai.OpenAI = openai.AzureOpenAI(
            azure_endpoint=settings.AZURE_OPENAI_ENDPOINT,
            api_key=settings.AZURE_OPENAI_API_KEY,
            api_version=settings.AZURE_OPENAI_API_VERSION,
            **common,
        )
        default_model = settings.AZURE_OPENAI_DEPLOYMENT
    else:
        if not settings.OPENAI_API_KEY:
            raise LLMConfigurationError("OpenAI needs OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server).")
        sdk = openai.OpenAI(base_url=settings.OPENAI_BASE_URL or None, api_key=settings.OPENAI_API_KEY, **common)
        default_model = settings.OPENAI_MODEL
    return LLMClient(
        sdk,
        default_model=default_model,
        total_timeout=settings.LLM_TOTAL_TIMEOUT,
        max_tool_rounds=settings.LLM_MAX_TOOL_ROUNDS,
        breaker_fail_max=settings.LLM_BREAKER_FAIL_MAX,
        breaker_reset_timeout=settings.LLM_BREAKER_RESET_TIMEOUT,
    )


_client: ProcessWide[LLMClient] = ProcessWide(
    build_llm_client, close=lambda client: client.sdk.close(), settings_prefixes=("LLM_", "AZURE_OPENAI_", "OPENAI_")
)


def get_llm_client() -> LLMClient:
    """The process-wide client, built from settings on first use."""
    return _client.get()


def reset_llm_client() -> None:
    """Forget the process-wide client (and its breaker state); the next call rebuilds it."""
    _client.reset()
