"""A bounded in-memory key/value store used while Redis is unreachable.

Entries expire by their own TTL and the least recently used entry is evicted
when the store is full (cachetools' ``TLRUCache``).  What is written during an
outage is remembered as *pending* so it can be merged into Redis later: values
and deletions carry the wall-clock time they were written (Redis keeps whichever
is newer), counters carry only the increments made here (Redis adds them up).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from cachetools import TLRUCache

_FOREVER = float("inf")


@dataclass(frozen=True)
class Pending:
    key: str
    # None for a deletion and for a counter.
    value: bytes | None
    ttl: float | None
    written_at: float
    # The increments made during the outage, for counters only.
    delta: int | None = None


class FallbackStore:
    def __init__(self, maxsize: int, *, timer=time.monotonic, clock=time.time):
        self._timer = timer
        self._clock = clock
        self._cache: TLRUCache = TLRUCache(maxsize=maxsize, ttu=self._expiry, timer=timer)
        self._pending: dict[str, Pending] = {}
        self._lock = threading.RLock()

    @staticmethod
    def _expiry(_key, entry, _now) -> float:
        return entry[1]

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._cache.get(key)
            return None if entry is None else entry[0]

    def set(self, key: str, value: Any, ttl: float | None = None, *, dirty: bool = True) -> None:
        expires_at = self._timer() + ttl if ttl else _FOREVER
        with self._lock:
            self._cache[key] = (value, expires_at)
            if dirty:
                self._pending[key] = Pending(key, value, ttl, self._clock())

    def delete(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._pending[key] = Pending(key, None, None, self._clock())

    def incr(self, key: str, ttl: float | None = None) -> int:
        """Counts locally; the increments are added to Redis's own count once it is back."""
        with self._lock:
            current = int(self.get(key) or 0) + 1
            remaining = self.ttl(key) or ttl
            self.set(key, str(current).encode(), remaining, dirty=False)
            earlier = self._pending.get(key)
            delta = (earlier.delta or 0) + 1 if earlier is not None and earlier.delta is not None else 1
            self._pending[key] = Pending(key, None, remaining, self._clock(), delta=delta)
            return current

    def ttl(self, key: str) -> float | None:
        with self._lock:
            entry = self._cache.get(key)
        if entry is None or entry[1] == _FOREVER:
            return None
        return max(entry[1] - self._timer(), 0.0)

    @property
    def has_dirty(self) -> bool:
        return bool(self._pending)

    def take_dirty(self) -> list[Pending]:
        """Hands over what was written during the outage and forgets the local copies."""
        with self._lock:
            items = list(self._pending.values())
            self._pending.clear()
            self._cache.clear()
        return items

    def prune(self, fraction: float) -> int:
        """Drops the least recently used ``fraction`` of entries; used under memory pressure."""
        with self._lock:
            self._cache.expire()
            count = int(len(self._cache) * fraction)
            for _ in range(count):
                key, _ = self._cache.popitem()
                self._pending.pop(key, None)
            return count

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)
