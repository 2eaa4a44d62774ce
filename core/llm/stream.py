"""One streamed completion: the chunks read as the dicts they are on the wire, to the end of the body,
and assembled into a :class:`Round` (text, tool calls, finish reason, usage)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

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
    """Adds one chunk, as it is on the wire, to the completion being assembled."""
    if not isinstance(chunk, dict):
        return
    if chunk.get("model"):
        current.model = chunk["model"]
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        current.prompt_tokens = usage.get("prompt_tokens")
        current.completion_tokens = usage.get("completion_tokens")
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if delta.get("content"):
                current.text_parts.append(delta["content"])
            for part in delta.get("tool_calls") or ():
                call = current.tool_calls.setdefault(part.get("index", 0), ToolCall())
                if part.get("id"):
                    call.id = part["id"]
                function = part.get("function")
                if isinstance(function, dict):
                    call.name += function.get("name") or ""
                    call.arguments += function.get("arguments") or ""
        if choice.get("finish_reason"):
            current.finish_reason = choice["finish_reason"]


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
                    data = sse.json()
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
