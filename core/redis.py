"""The one way the project talks to Redis for its own keys.

One connection pool, a circuit breaker (pybreaker's, by way of :mod:`core.breakers`) that
opens after repeated failures and half-opens to probe, and a bounded in-memory fallback used while
the breaker is open.  Writes made during an outage are merged into Redis once it
answers again: counters add up, and for values and deletions the newer write wins,
so a process that was cut off never overwrites what others wrote meanwhile.
Every key carries the deployment's ``REDIS_KEY_PREFIX``, applied here and nowhere else.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from typing import Any

import pybreaker
import redis
from django.conf import settings
from prometheus_client import Counter, Gauge

from core.breakers import CircuitBreaker
from core.fallback import FallbackStore
from core.lazy import ProcessWide
from core.logging import get_logger

log = get_logger(__name__)

# Merged across processes (monitoring.multiprocess): 1 while the breaker of any live process is not closed.
BREAKER_STATE = Gauge(
    "redis_circuit_open", "1 while the Redis circuit breaker is not closed", multiprocess_mode="livemax"
)
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
        # The write-back follows in RedisManager._call, outside the breaker's lock: a state change is
        # announced under that lock, and a write-back there would hold up every Redis call of the process.


# Keeps whichever write is newer: a process coming back from an outage must not replace
# what another process wrote to Redis after it (or delete what was written since).
_MERGE_SCRIPT = """
local newest = redis.call('GET', KEYS[2])
if newest and tonumber(newest) >= tonumber(ARGV[2]) then return 0 end
local px = tonumber(ARGV[3])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5])
elseif px > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
  redis.call('SET', KEYS[2], ARGV[2], 'PX', px)
else
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
"""
# A token bucket shared by every process: ``rate`` tokens a second up to ``burst``. Redis's own clock
# keeps hosts with skewed clocks fair. Returns the seconds to wait ("0" when a token was taken).
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class _LocalBucket:
    """The same bucket in this process alone, while Redis is out of reach."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: int) -> float:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (float(burst), now))
            tokens = min(burst, tokens + max(0.0, now - at) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            self._buckets[key] = (tokens, now)
            return wait


# How long a deletion is remembered, so that an older value cannot come back after an outage.
_TOMBSTONE_MS = 24 * 3600 * 1000


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _milliseconds(seconds: float) -> int:
    """A TTL in milliseconds, never rounded down to 0 (which Redis refuses or, for EXPIRE, deletes at once)."""
    return max(1, int(seconds * 1000))


class RedisManager:
    """Redis for the project's own keys, each under ``key_prefix`` so deployments sharing a server never mix."""

    def __init__(
        self,
        url: str | None,
        *,
        key_prefix: str = "",
        fail_max: int = 3,
        reset_timeout: float = 5.0,
        fallback_maxsize: int = 10_000,
        socket_timeout: float = 0.5,
        clock=time.time,
    ):
        self.url = url
        self.key_prefix = f"{key_prefix}:" if key_prefix else ""
        self._clock = clock
        self.fallback = FallbackStore(fallback_maxsize, clock=clock)
        self.breaker = CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=[redis.ResponseError],
            listeners=[_BreakerListener(self)],
            name="redis",
        )
        self._write_back_lock = threading.Lock()
        self.client: redis.Redis | None = None
        self._merge = None
        self._token_bucket = None
        self._local_buckets = _LocalBucket()
        if url:
            pool = redis.ConnectionPool.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                health_check_interval=15,
                retry_on_timeout=False,
            )
            self.client = redis.Redis(connection_pool=pool)
            self._merge = self.client.register_script(_MERGE_SCRIPT)
            self._token_bucket = self.client.register_script(_BUCKET_SCRIPT)

    def key(self, name: str) -> str:
        """The full Redis key of one of our names (for tools that must reach Redis directly)."""
        return self.key_prefix + name

    def pattern(self, name_glob: str) -> str:
        """A SCAN pattern for our names matching ``name_glob``; glob characters in the prefix match only themselves."""
        return _glob_escape(self.key_prefix) + name_glob

    @staticmethod
    def _written_key(full_key: str) -> str:
        return f"{full_key}:__written_at"

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
            if self.fallback.has_dirty and self._write_back() and op == "get":
                # The read ran before this process's own outage writes reached Redis.
                return self._call(op, fn, *args, **kwargs)
            return True, result
        FALLBACK_OPS.labels(op=op).inc()
        return False, None

    def get(self, name: str) -> bytes | None:
        key = self.key(name)
        ok, value = self._call("get", self.client.get if self.client else None, key)
        return value if ok else self.fallback.get(key)

    def set(self, name: str, value: bytes | str, ttl: float | None = None) -> None:
        key = self.key(name)
        px = _milliseconds(ttl) if ttl else None

        # MULTI/EXEC: a merge from another process must not fall between the value and its time.
        def _set():
            pipe = self.client.pipeline(transaction=True)
            pipe.set(key, value, px=px)
            pipe.set(self._written_key(key), repr(self._clock()), px=px)
            return pipe.execute()

        ok, _ = self._call("set", _set)
        if not ok:
            self.fallback.set(key, value.encode() if isinstance(value, str) else value, ttl)

    def delete(self, name: str) -> None:
        key = self.key(name)

        def _delete():
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(key)
            pipe.set(self._written_key(key), repr(self._clock()), px=_TOMBSTONE_MS)
            return pipe.execute()

        ok, _ = self._call("delete", _delete)
        if not ok:
            self.fallback.delete(key)

    def erase_matching(self, name_glob: str) -> int:
        """Deletes our keys matching ``name_glob`` with no trace left: no deletion marker, nothing in the fallback.

        For erasing personal data, where even a key's name may say whose it was; scans, so it is for rare use.
        Returns how many keys went from Redis.
        """
        pattern = self.pattern(name_glob)
        # The fallback's keys are matched as plain strings: the prefix literally, then the glob.
        prefix = self.key_prefix
        self.fallback.forget(lambda key: key.startswith(prefix) and fnmatch.fnmatchcase(key[len(prefix) :], name_glob))

        def _erase():
            deleted = 0
            for key in self.client.scan_iter(match=pattern, count=1000):
                deleted += self.client.delete(key)
            return deleted

        ok, deleted = self._call("erase", _erase)
        return int(deleted or 0) if ok else 0

    def incr(self, name: str, ttl: float | None = None) -> int:
        """Increments a counter; ``ttl`` applies when the counter is created."""
        key = self.key(name)

        def _incr():
            pipe = self.client.pipeline()
            pipe.incr(key)
            if ttl:
                pipe.pexpire(key, _milliseconds(ttl), nx=True)
            return pipe.execute()[0]

        ok, value = self._call("incr", _incr)
        if ok:
            return int(value)
        return self.fallback.incr(key, ttl)

    def take_token(self, name: str, *, rate: float, burst: int) -> float:
        """Takes one token from the bucket ``name`` shared by all processes; returns the seconds to wait
        before trying again (0.0 when the token was taken). While Redis is out of reach each process
        keeps its own bucket of the same size."""
        key = self.key(name)
        ok, value = self._call(
            "take_token", self._token_bucket if self._token_bucket else None, keys=[key], args=[rate, burst]
        )
        if ok:
            return float(value)
        return self._local_buckets.take(key, rate, burst)

    def acquire_token(self, name: str, *, rate: float, burst: int, timeout: float = 30.0, sleep=time.sleep) -> bool:
        """Waits for a token of the bucket ``name``; False if none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            wait = self.take_token(name, rate=rate, burst=burst)
            if wait <= 0:
                return True
            if time.monotonic() + wait > deadline:
                return False
            sleep(wait)

    # --- recovery -----------------------------------------------------------------------
    def _write_back(self) -> bool:
        """Merges what was written during an outage into Redis; True when something was written."""
        if self.client is None or not self._write_back_lock.acquire(blocking=False):
            return False
        written = 0
        try:
            items = self.fallback.take_dirty()
            for index, item in enumerate(items):
                try:
                    self._merge_one(item)
                    written += 1
                except redis.ResponseError as exc:
                    # Redis refuses this one write (e.g. INCRBY on a key holding text); retrying cannot help.
                    log.warning("redis_write_back_refused", key=item.key, error=str(exc)[:200])
                except _REDIS_ERRORS as exc:
                    # Redis went away again: keep what is not written yet for the next recovery.
                    self.fallback.give_back(items[index:])
                    log.warning("redis_write_back_failed", error=type(exc).__name__, kept=len(items) - index)
                    break
            if written:
                log.info("redis_fallback_written_back", keys=written)
            dropped = self.fallback.take_dropped()
            if dropped:
                log.warning("redis_fallback_writes_dropped", writes=dropped)
        finally:
            self._write_back_lock.release()
        return written > 0

    def _merge_one(self, item) -> None:
        remaining_ms = None
        if item.ttl:
            remaining = item.ttl - (self._clock() - item.written_at)
            if remaining <= 0:
                return  # it would have expired in Redis by now
            remaining_ms = _milliseconds(remaining)
        if item.is_counter:
            # Counters add up: every process's increments during the outage count.
            pipe = self.client.pipeline()
            pipe.incrby(item.key, item.delta)
            if remaining_ms:
                pipe.pexpire(item.key, remaining_ms, nx=True)
            pipe.execute()
            return
        self._merge(
            keys=[item.key, self._written_key(item.key)],
            args=[
                item.value or b"",
                repr(item.written_at),
                remaining_ms or 0,
                "1" if item.value is None else "0",
                _TOMBSTONE_MS,
            ],
        )

    def prune_fallback(self, fraction: float = 0.5) -> int:
        return self.fallback.prune(fraction)


def build_redis_manager() -> RedisManager:
    return RedisManager(
        settings.REDIS_URL,
        key_prefix=settings.REDIS_KEY_PREFIX,
        fail_max=settings.REDIS_BREAKER_FAIL_MAX,
        reset_timeout=settings.REDIS_BREAKER_RESET_TIMEOUT,
        fallback_maxsize=settings.REDIS_FALLBACK_MAX_ITEMS,
    )


_manager: ProcessWide[RedisManager] = ProcessWide(build_redis_manager)


def get_redis() -> RedisManager:
    """The process-wide manager for ``settings.REDIS_URL`` (memory-only when unset)."""
    return _manager.get()


def reset_redis() -> None:
    """Forgets the process-wide manager (tests and settings changes)."""
    _manager.reset()
