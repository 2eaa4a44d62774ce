"""The ticker's lock and the latest snapshot of each dashboard, both in Redis.

Without Redis (the embedded default) there is one web process, which runs the ticker itself: the
lock is then always held and snapshots live in that process's memory (the Redis manager's fallback).
"""

from __future__ import annotations

import uuid

import redis

from core.logging import get_logger
from core.redis import get_redis

log = get_logger(__name__)

# A snapshot older than this is of no use to anyone: the ticker is gone.
SNAPSHOT_TTL = 3600.0

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def snapshot_key(dashboard: str) -> str:
    return f"dashboards:{dashboard}:snapshot"


def snapshot_load(dashboard: str) -> str | None:
    """The latest snapshot message as sent to sockets (JSON text), or None."""
    raw = get_redis().get(snapshot_key(dashboard))
    return raw.decode() if isinstance(raw, bytes) else raw


def snapshot_save(dashboard: str, text: str) -> None:
    get_redis().set(snapshot_key(dashboard), text, ttl=SNAPSHOT_TTL)


class TickerLock:
    """Held by at most one ticker of a deployment; it expires unless renewed every tick."""

    NAME = "dashboards:ticker-lock"

    def __init__(self, ttl: float = 5.0):
        self.ttl_ms = int(ttl * 1000)
        self.token = uuid.uuid4().hex
        manager = get_redis()
        self.client = manager.client
        self.key = manager.key(self.NAME)

    def acquire(self) -> bool:
        if self.client is None:
            return True
        try:
            return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except (redis.RedisError, OSError) as exc:
            log.warning("dashboard_ticker_lock_unavailable", error=type(exc).__name__)
            return False

    def renew(self) -> bool:
        if self.client is None:
            return True
        try:
            return bool(self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        except (redis.RedisError, OSError) as exc:
            log.warning("dashboard_ticker_lock_unavailable", error=type(exc).__name__)
            return False

    def release(self) -> None:
        if self.client is None:
            return
        try:
            self.client.eval(_RELEASE, 1, self.key, self.token)
        except (redis.RedisError, OSError):
            pass  # it expires on its own
