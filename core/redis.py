"""The one way the project talks to Redis for its own keys.

One connection pool, a circuit breaker (pybreaker) that opens after repeated
failures and half-opens to probe, and a bounded in-memory fallback used while
the breaker is open.  Writes made during an outage are written back to Redis
once it answers again, so reads move back to Redis without losing them.
"""

from __future__ import annotations

import threading
from typing import Any

import pybreaker
import redis
from django.conf import settings
from prometheus_client import Counter, Gauge

from core.fallback import FallbackStore
from core.logging import get_logger

log = get_logger(__name__)

BREAKER_STATE = Gauge("redis_circuit_open", "1 while the Redis circuit breaker is not closed")
FALLBACK_OPS = Counter("redis_fallback_operations_total", "Operations served from the in-memory fallback", ["op"])
STATE_CHANGES = Counter("redis_circuit_state_changes_total", "Redis circuit breaker transitions", ["state"])

_REDIS_ERRORS = (redis.RedisError, OSError)


class _BreakerListener(pybreaker.CircuitBreakerListener):
    def __init__(self, manager: RedisManager):
        self.manager = manager

    def state_change(self, cb, old_state, new_state):
        name = new_state.name
        STATE_CHANGES.labels(state=name).inc()
        BREAKER_STATE.set(0 if name == pybreaker.STATE_CLOSED else 1)
        log.warning("redis_circuit_state_changed", old=old_state.name if old_state else None, new=name)
        if name == pybreaker.STATE_CLOSED:
            self.manager._write_back()


class RedisManager:
    def __init__(
        self,
        url: str | None,
        *,
        fail_max: int = 3,
        reset_timeout: float = 5.0,
        fallback_maxsize: int = 10_000,
        socket_timeout: float = 0.5,
    ):
        self.url = url
        self.fallback = FallbackStore(fallback_maxsize)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=[redis.ResponseError],
            listeners=[_BreakerListener(self)],
            name="redis",
        )
        self._write_back_lock = threading.Lock()
        self.client: redis.Redis | None = None
        if url:
            pool = redis.ConnectionPool.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                health_check_interval=15,
                retry_on_timeout=False,
            )
            self.client = redis.Redis(connection_pool=pool)

    # --- state --------------------------------------------------------------------------
    @property
    def state(self) -> str:
        if self.client is None:
            return "memory-only"
        return self.breaker.current_state

    @property
    def using_fallback(self) -> bool:
        return self.client is None or self.breaker.current_state != pybreaker.STATE_CLOSED

    def ping(self) -> bool:
        """Health check that bypasses the breaker so readiness sees the truth."""
        if self.client is None:
            return False
        try:
            return bool(self.client.ping())
        except _REDIS_ERRORS:
            return False

    # --- operations ---------------------------------------------------------------------
    def _call(self, op: str, fn, *args, **kwargs) -> tuple[bool, Any]:
        if self.client is None:
            return False, None
        try:
            result = self.breaker.call(fn, *args, **kwargs)
        except pybreaker.CircuitBreakerError:
            pass
        except _REDIS_ERRORS as exc:
            log.warning("redis_operation_failed", op=op, error=type(exc).__name__)
        else:
            if self.fallback.has_dirty:
                self._write_back()
            return True, result
        FALLBACK_OPS.labels(op=op).inc()
        return False, None

    def get(self, key: str) -> bytes | None:
        ok, value = self._call("get", self.client.get if self.client else None, key)
        return value if ok else self.fallback.get(key)

    def set(self, key: str, value: bytes | str, ttl: float | None = None) -> None:
        px = int(ttl * 1000) if ttl else None
        ok, _ = self._call("set", self.client.set if self.client else None, key, value, px=px)
        if not ok:
            self.fallback.set(key, value.encode() if isinstance(value, str) else value, ttl)

    def delete(self, key: str) -> None:
        ok, _ = self._call("delete", self.client.delete if self.client else None, key)
        if not ok:
            self.fallback.delete(key)

    def incr(self, key: str, ttl: float | None = None) -> int:
        """Increments a counter; ``ttl`` applies when the counter is created."""

        def _incr():
            pipe = self.client.pipeline()
            pipe.incr(key)
            if ttl:
                pipe.expire(key, int(ttl), nx=True)
            return pipe.execute()[0]

        ok, value = self._call("incr", _incr)
        if ok:
            return int(value)
        current = int(self.fallback.get(key) or 0) + 1
        remaining = self.fallback.ttl(key) or ttl
        self.fallback.set(key, str(current).encode(), remaining)
        return current

    # --- recovery -----------------------------------------------------------------------
    def _write_back(self) -> None:
        if self.client is None or not self._write_back_lock.acquire(blocking=False):
            return
        try:
            items = self.fallback.take_dirty()
            for key, value, ttl in items:
                if value is None:
                    self.client.delete(key)
                else:
                    self.client.set(key, value, px=int(ttl * 1000) if ttl else None)
            if items:
                log.info("redis_fallback_written_back", keys=len(items))
        except _REDIS_ERRORS as exc:
            log.warning("redis_write_back_failed", error=type(exc).__name__)
        finally:
            self._write_back_lock.release()

    def prune_fallback(self, fraction: float = 0.5) -> int:
        return self.fallback.prune(fraction)


_manager: RedisManager | None = None
_manager_lock = threading.Lock()


def get_redis() -> RedisManager:
    """The process-wide manager for ``settings.REDIS_URL`` (memory-only when unset)."""
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = RedisManager(
                    settings.REDIS_URL,
                    fail_max=settings.REDIS_BREAKER_FAIL_MAX,
                    reset_timeout=settings.REDIS_BREAKER_RESET_TIMEOUT,
                    fallback_maxsize=settings.REDIS_FALLBACK_MAX_ITEMS,
                )
    return _manager


def reset_redis() -> None:
    """Forgets the process-wide manager (tests and settings changes)."""
    global _manager
    _manager = None
