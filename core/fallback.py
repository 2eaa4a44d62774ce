"""A bounded in-memory key/value store used while Redis is unreachable.

Entries expire by their own TTL and the least recently used entry is evicted
when the store is full (cachetools' ``TLRUCache``).  Entries written during an
outage are remembered as *dirty* so they can be written back to Redis later.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from cachetools import TLRUCache

_FOREVER = float("inf")


class FallbackStore:
    def __init__(self, maxsize: int, *, timer=time.monotonic):
        self._timer = timer
        self._cache: TLRUCache = TLRUCache(maxsize=maxsize, ttu=self._expiry, timer=timer)
        self._dirty: set[str] = set()
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
                self._dirty.add(key)

    def delete(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._dirty.add(key)

    def ttl(self, key: str) -> float | None:
        with self._lock:
            entry = self._cache.get(key)
        if entry is None or entry[1] == _FOREVER:
            return None
        return max(entry[1] - self._timer(), 0.0)

    @property
    def has_dirty(self) -> bool:
        return bool(self._dirty)

    def take_dirty(self) -> list[tuple[str, Any, float | None]]:
        """Hands over what was written during the outage (``value`` None means deleted)."""
        with self._lock:
            items = [(key, self.get(key), self.ttl(key)) for key in self._dirty]
            self._dirty.clear()
            self._cache.clear()
        return items

    def prune(self, fraction: float) -> int:
        """Drops the least recently used ``fraction`` of entries; used under memory pressure."""
        with self._lock:
            self._cache.expire()
            count = int(len(self._cache) * fraction)
            for _ in range(count):
                key, _ = self._cache.popitem()
                self._dirty.discard(key)
            return count

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)
