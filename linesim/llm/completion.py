"""One answer of the LLM double as each provider renders it: whole, or as the chunks of a stream."""

from __future__ import annotations

import hashlib
import json
import time

from linesim.llm import replies
from linesim.llm.faults import FaultRule

FILTER_SAFE = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}
FILTER_HIT = {**FILTER_SAFE, "violence": {"filtered": True, "severity": "high"}}


class Completion:
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
        return FILTER_HIT if self.finish_reason == "content_filter" else FILTER_SAFE

    def _prompt_filter_results(self) -> list:
        return [{"prompt_index": 0, "content_filter_results": FILTER_SAFE}]

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
                choice["content_filter_results"] = self._filter_results() if finish_reason else FILTER_SAFE
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


def event(chunk: dict) -> bytes:
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
