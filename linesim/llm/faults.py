"""Fault rules of the LLM double, drawn deterministically from a seeded generator.

A rule, as posted to ``POST /_control/faults``::

    {"kind": "429", "count": 2, "rate": 1.0, "retry_after": 0.05, "hang_seconds": 30, "provider": "azure"}

* ``kind``:
  ``429`` (rate limited, with ``retry-after`` and ``retry-after-ms`` headers from ``retry_after`` seconds),
  ``500`` (server error),
  ``timeout`` (no answer for ``hang_seconds``, then a 408),
  ``stall`` (a stream sends its first token, then nothing for ``hang_seconds``; a whole answer is held that long),
  ``stream_error`` (a stream sends its first token, then an ``error`` event, and ends),
  ``content_filter`` (half of the answer, then ``finish_reason: "content_filter"``),
  ``prompt_filter`` (Azure's 400 with code ``content_filter``),
  ``empty_first_chunk`` (a stream starts with chunks that carry no choices or no content),
  ``disconnect`` (the connection is dropped without an answer).
* ``count``: how many requests the rule hits before it is spent (default: unlimited).
* ``rate``: the chance that a request is hit (default 1.0); the draws come from the seed, so a run
  with the same seed and the same requests hits the same ones.
* ``provider``: ``azure`` or ``openai`` to hit only that path (default: both).

Rules are tried in the order they were added; the first one that hits applies.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

KINDS = (
    "429",
    "500",
    "timeout",
    "stall",
    "stream_error",
    "content_filter",
    "prompt_filter",
    "empty_first_chunk",
    "disconnect",
)


@dataclass
class FaultRule:
    kind: str
    count: int | None = None
    rate: float = 1.0
    retry_after: float = 1.0
    hang_seconds: float = 30.0
    provider: str | None = None

    @classmethod
    def from_json(cls, data: object) -> FaultRule:
        if not isinstance(data, dict):
            raise ValueError("a fault must be an object")
        unknown = set(data) - {"kind", "count", "rate", "retry_after", "hang_seconds", "provider"}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        kind = str(data.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        rule = cls(kind=kind)
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer")
        rule.count = count
        for name in ("rate", "retry_after", "hang_seconds"):
            if name in data:
                value = data[name]
                if not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{name} must be a number >= 0")
                setattr(rule, name, float(value))
        if rule.rate > 1:
            raise ValueError("rate must be between 0 and 1")
        provider = data.get("provider")
        if provider not in (None, "azure", "openai"):
            raise ValueError("provider must be azure or openai")
        rule.provider = provider
        return rule


class FaultBook:
    def __init__(self, seed: int):
        self.random = random.Random(seed)  # noqa: S311 - reproducible draws, not secrets
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def describe(self) -> list[dict]:
        return [asdict(rule) for rule in self.rules]

    def draw(self, provider: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.provider not in (None, provider):
                continue
            if rule.rate < 1 and self.random.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count == 0:
                    self.rules.remove(rule)
            return rule
        return None
