"""One streamed completion: the chunks read as the dicts they are on the wire, to the end of the body,
and assembled into a :class:`Round` (text, tool calls, finish reason, usage)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.lazy import LazyModule

openai = LazyModule("openai")


@dataclass
class ToolCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Round:
    """One streamed completion, assembled from its chunks."""

    text_parts: list[str] = field(default_factory=list)
    tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    finish_reason: str | None = None
    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


def absorb(current: Round, chunk: Any) -> None:
    """Adds one chunk, as it is on the wire, to the completion being assembled.

    A provider streams one chunk per token, so this runs hundreds of times for a long answer: each key is read
    once.
    """
    if not isinstance(chunk, dict):
        return
    model = chunk.get("model")
    if model:
        current.model = model
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        current.prompt_tokens = usage.get("prompt_tokens")
        current.completion_tokens = usage.get("completion_tokens")
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if content:
                current.text_parts.append(content)
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                _absorb_tool_calls(current, tool_calls)
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            current.finish_reason = finish_reason


def _absorb_tool_calls(current: Round, parts: list) -> None:
    for part in parts:
        call = current.tool_calls.setdefault(part.get("index", 0), ToolCall())
        if part.get("id"):
            call.id = part["id"]
        function = part.get("function")
        if isinstance(function, dict):
            call.name += function.get("name") or ""
            call.arguments += function.get("arguments") or ""


def _parsed(data: str) -> Any:
    """A chunk's JSON, by orjson: the SDK's ``json.loads`` was a fifth of reading a streamed answer.

    What orjson refuses and the standard library reads (NaN, Infinity) is read as before, and what neither reads
    raises the standard library's error, as before. orjson reads an integer past 64 bits as a float; no field
    read from a chunk (token counts, texts, names) can hold one.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


@functools.cache
def chunk_stream_class() -> type:
    """The SDK's stream of chunks as dicts, read to the end of the body before it is closed.

    The SDK's own stream closes the response as soon as it sees ``[DONE]``, before the body's
    last bytes (the chunked encoding's end) are read, and httpx drops a connection closed
    mid-body: every answer then paid a new TCP (and TLS) handshake to the model. Errors inside
    the stream are raised as the SDK raises them.
    """

    class ChunkStream(openai.Stream[object]):
        def __stream__(self):
            response = self.response
            events = self._iter_events()
            try:
                for sse in events:
                    if sse.data.startswith("[DONE]"):
                        _read_to_end(events)
                        return
                    data = _parsed(sse.data)
                    if isinstance(data, dict) and data.get("error"):
                        error = data["error"]
                        message = error.get("message") if isinstance(error, dict) else None
                        raise openai.APIError(
                            message=message
                            if isinstance(message, str) and message
                            else "An error occurred during streaming",
                            request=response.request,
                            body=error,
                        )
                    yield data
            finally:
                response.close()

    return ChunkStream


def _read_to_end(events) -> None:
    # Only the end of the body is left; a failure here cannot change an answer already complete.
    try:
        for _ in events:
            pass
    except Exception:  # noqa: BLE001, S110  # nosec B110
        pass  # the connection is then closed, as before
