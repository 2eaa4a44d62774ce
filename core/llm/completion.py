"""One completion as the model sent it, whole: its text, tool calls, finish reason and usage (:class:`Round`).

The answer goes to LINE whole, so it is asked for whole. A streamed answer costs the worker a parsed event per
token (a real answer has hundreds) and brings the same envelope with every token; the whole one is one JSON body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Round:
    """One completion: what the model said, or the tools it wants called first."""

    text: str = ""
    tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    finish_reason: str | None = None
    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def round_read(body: Any) -> Round:
    """The round a completion's body holds. A field of an unexpected shape counts as absent, so a server that
    answers oddly gives an empty answer (which the client reports) rather than a crash."""
    current = Round()
    if not isinstance(body, dict):
        return current
    model = body.get("model")
    if isinstance(model, str):
        current.model = model
    usage = body.get("usage")
    if isinstance(usage, dict):
        current.prompt_tokens = _count(usage.get("prompt_tokens"))
        current.completion_tokens = _count(usage.get("completion_tokens"))
    choices = body.get("choices")
    # The client asks for one choice (n is left at 1).
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    finish_reason = choice.get("finish_reason")
    if isinstance(finish_reason, str):
        current.finish_reason = finish_reason
    message = choice.get("message")
    if not isinstance(message, dict):
        return current
    content = message.get("content")
    if isinstance(content, str):
        current.text = content
    tool_calls = message.get("tool_calls")
    for index, call in enumerate(tool_calls if isinstance(tool_calls, list) else ()):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        current.tool_calls[index] = ToolCall(
            id=str(call.get("id") or ""),
            name=str(function.get("name") or ""),
            arguments=str(function.get("arguments") or ""),
        )
    return current


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
