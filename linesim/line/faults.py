"""Fault injection and rate limiting, both keyed by operationId ("pushMessage") or "*" for every endpoint.

Faults draw from one ``random.Random(seed)``: the same seed and the same sequence of requests give the
same faults, so a test that sets ``{"seed": 7, "errors": [{"endpoint": "pushMessage", "status": 503, "rate": 0.5}]}``
sees the same requests fail on every run.

An error rule or a lost-response rule may carry a ``count``: it hits that many requests, then it is spent. Rules are
tried in the order given, so ``[{"status": 500, "count": 1}, {"status": 429, "count": 1}]`` on one endpoint answers
500, then 429, then normally.

A lost response (``lostResponses``) is the fault a retry key exists for: the endpoint carries the request out (a push
is delivered, a reply token spent), then the connection closes before the answer is sent, so the client cannot tell
whether LINE acted. Only requests that reach the endpoint are lost; one refused earlier (401, an injected error, 429,
a repeated retry key) is answered.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from linesim.line.config import DEFAULT_RATE_LIMIT, LINE_RATE_LIMITS

FAULT_STATUSES = (429, 500, 503)


class FaultConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Decision:
    latency: float = 0.0
    drop: bool = False
    status: int | None = None


@dataclass
class Faults:
    seed: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    drops: dict[str, float] = field(default_factory=dict)
    lost: list[dict[str, Any]] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.errors or self.drops or self.lost)

    def configure(self, spec: dict[str, Any]) -> None:
        """Replace the fault set; raises FaultConfigError on a malformed spec (nothing changes then)."""
        if not isinstance(spec, dict):
            raise FaultConfigError("faults must be a JSON object")
        seed = spec.get("seed", self.seed)
        latency = spec.get("latencyMs", {})
        drops = spec.get("dropRate", {})
        errors = spec.get("errors", [])
        lost = spec.get("lostResponses", [])
        if not isinstance(seed, int):
            raise FaultConfigError("seed must be an integer")
        if isinstance(latency, int | float):
            latency = {"*": latency}
        if not isinstance(latency, dict) or not all(isinstance(v, int | float) and v >= 0 for v in latency.values()):
            raise FaultConfigError("latencyMs must be a number or an object of endpoint → milliseconds ≥ 0")
        if isinstance(drops, int | float):
            drops = {"*": drops}
        if not isinstance(drops, dict) or not all(_is_rate(v) for v in drops.values()):
            raise FaultConfigError("dropRate must be a rate or an object of endpoint → rate between 0 and 1")
        if not isinstance(errors, list):
            raise FaultConfigError("errors must be a list")
        for rule in errors:
            if not isinstance(rule, dict) or rule.get("status") not in FAULT_STATUSES or not _is_rate(rule.get("rate")):
                raise FaultConfigError(
                    f"each error needs endpoint, status in {list(FAULT_STATUSES)} and rate between 0 and 1"
                )
            _check_count(rule, "error")
        if not isinstance(lost, list):
            raise FaultConfigError("lostResponses must be a list")
        for rule in lost:
            if not isinstance(rule, dict) or not _is_rate(rule.get("rate", 1.0)):
                raise FaultConfigError("each lost response needs endpoint and a rate between 0 and 1 (default 1)")
            _check_count(rule, "lost-response")
        self.seed, self.latency_ms, self.drops = seed, dict(latency), dict(drops)
        self.errors = [
            {"endpoint": rule.get("endpoint", "*"), "status": rule["status"], "rate": rule["rate"]}
            | ({"count": rule["count"]} if "count" in rule else {})
            for rule in errors
        ]
        self.lost = [
            {"endpoint": rule.get("endpoint", "*"), "rate": rule.get("rate", 1.0)}
            | ({"count": rule["count"]} if "count" in rule else {})
            for rule in lost
        ]
        self.rng.seed(seed)

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "latencyMs": self.latency_ms,
            "errors": self.errors,
            "dropRate": self.drops,
            "lostResponses": self.lost,
        }

    def decide(self, endpoint: str) -> Decision:
        latency = self.latency_ms.get(endpoint, self.latency_ms.get("*", 0.0)) / 1000.0
        drop_rate = self.drops.get(endpoint, self.drops.get("*", 0.0))
        if drop_rate and self.rng.random() < drop_rate:
            return Decision(latency=latency, drop=True)
        rule = _hit(self.errors, endpoint, self.rng)
        if rule is not None:
            return Decision(latency=latency, status=rule["status"])
        return Decision(latency=latency)

    def lose_answer(self, endpoint: str) -> bool:
        """Whether the answer to a request the endpoint has just carried out is lost on the way back."""
        return _hit(self.lost, endpoint, self.rng) is not None


def _hit(rules: list[dict[str, Any]], endpoint: str, rng: random.Random) -> dict[str, Any] | None:
    """The first rule for the endpoint that hits this request; a rule with a count is spent after count hits."""
    for rule in rules:
        if rule["endpoint"] in (endpoint, "*") and rng.random() < rule["rate"]:
            if "count" in rule:
                rule["count"] -= 1
                if rule["count"] == 0:
                    rules.remove(rule)
            return rule
    return None


def _is_rate(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _check_count(rule: dict[str, Any], what: str) -> None:
    count = rule.get("count")
    if "count" in rule and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise FaultConfigError(f"the count of {what} rules must be an integer ≥ 1")


class RateLimiter:
    """Fixed-window counters per endpoint, with LINE's documented limits unless overridden."""

    def __init__(self, *, enabled: bool = True, overrides: dict[str, tuple[int, float]] | None = None) -> None:
        self.enabled = enabled
        self.limits: dict[str, tuple[int, float]] = {**LINE_RATE_LIMITS, **(overrides or {})}
        self._windows: dict[str, tuple[float, int]] = {}

    def set_limit(self, endpoint: str, requests: int, per_seconds: float) -> None:
        if requests < 1 or per_seconds <= 0:
            raise FaultConfigError("a rate limit needs requests ≥ 1 and perSeconds > 0")
        self.limits[endpoint] = (requests, per_seconds)
        self._windows.pop(endpoint, None)

    def reset(self) -> None:
        self.limits = dict(LINE_RATE_LIMITS)
        self._windows.clear()

    def allow(self, endpoint: str) -> bool:
        if not self.enabled:
            return True
        limit, window = self.limits.get(endpoint, DEFAULT_RATE_LIMIT)
        now = time.monotonic()
        started, count = self._windows.get(endpoint, (now, 0))
        if now - started >= window:
            started, count = now, 0
        if count >= limit:
            return False
        self._windows[endpoint] = (started, count + 1)
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limits": {name: {"requests": r, "perSeconds": s} for name, (r, s) in sorted(self.limits.items())},
            "default": {"requests": DEFAULT_RATE_LIMIT[0], "perSeconds": DEFAULT_RATE_LIMIT[1]},
        }
