"""The LLM double's state: its options, what it recorded, its faults, scripted answers and settings."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from linesim.llm import replies
from linesim.llm.faults import FaultBook

DEFAULT_API_KEY = "local-llm-key"


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
