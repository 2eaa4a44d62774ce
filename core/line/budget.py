"""Budgets of requests to LINE that every process shares through Redis (LINE's limits are per channel).

A budget allows ``limit`` requests in any ``window`` seconds (a sliding window: never more, however the hour is
cut), and can be closed for a while after LINE answered 429 anyway (another caller, a clock apart). Without Redis
the budget is empty: a limit no process can see is not a limit, and the work waits for the next run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis
from django.conf import settings

from core.logging import get_logger
from core.redis import get_redis

log = get_logger(__name__)

# KEYS: the sorted set of request times, the closed-until key. ARGV: now, window, limit, member.
# Answers {1, 0} when the request may go, else {0, seconds until one may}.
_TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local closed_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if closed_until > now then
  return {0, tostring(closed_until - now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 60)
return {1, '0'}
"""
_REDIS_ERRORS = (redis.RedisError, OSError)
# After a 429: closed for 5 minutes, doubling with each 429 in a row, at most the budget's window.
_FIRST_BACKOFF = 300.0


@dataclass(frozen=True)
class Grant:
    granted: bool
    wait: float = 0.0


class RequestBudget:
    def __init__(self, name: str, *, limit: int, window: float):
        self.name = name
        self.limit = limit
        self.window = window

    def _keys(self) -> tuple[str, str, str]:
        manager = get_redis()
        base = f"line:budget:{self.name}"
        return manager.key(f"{base}:requests"), manager.key(f"{base}:closed"), f"{base}:backoffs"

    def take(self, *, now: float) -> Grant:
        """One request's worth of budget, if there is one left at ``now`` (a timestamp)."""
        manager = get_redis()
        if manager.using_fallback:
            log.warning("line_budget_without_redis", budget=self.name)
            return Grant(False, self.window)
        requests_key, closed_key, _ = self._keys()
        try:
            granted, wait = manager.client.eval(
                _TAKE, 2, requests_key, closed_key, repr(now), self.window, self.limit, f"{now!r}:{uuid.uuid4().hex}"
            )
        except _REDIS_ERRORS as exc:
            log.warning("line_budget_unavailable", budget=self.name, error=type(exc).__name__)
            return Grant(False, self.window)
        return Grant(bool(int(granted)), float(wait))

    def back_off(self, *, now: float) -> float:
        """Closes the budget after a 429; returns for how many seconds (longer with each 429 in a row)."""
        manager = get_redis()
        _, closed_key, backoffs = self._keys()
        streak = manager.incr(backoffs, ttl=2 * self.window)
        seconds = min(self.window, _FIRST_BACKOFF * 2 ** (streak - 1))
        if manager.client is not None and not manager.using_fallback:
            try:
                manager.client.set(closed_key, repr(now + seconds), px=int((seconds + 60) * 1000))
            except _REDIS_ERRORS as exc:
                log.warning("line_budget_unavailable", budget=self.name, error=type(exc).__name__)
        log.warning("line_budget_backing_off", budget=self.name, seconds=seconds, streak=streak)
        return seconds

    def answered(self) -> None:
        """LINE answered a request without 429: the next 429 starts the backoff afresh."""
        get_redis().delete(self._keys()[2])

    def reset(self) -> None:
        manager = get_redis()
        requests_key, closed_key, backoffs = self._keys()
        if manager.client is not None:
            try:
                manager.client.delete(requests_key, closed_key)
            except _REDIS_ERRORS:
                pass
        manager.delete(backoffs)


def insight_budget() -> RequestBudget:
    """LINE's insight endpoints: 60 requests an hour per channel."""
    return RequestBudget("insight", limit=settings.LINE_INSIGHT_REQUESTS_PER_HOUR, window=3600.0)
