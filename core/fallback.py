"""A bounded in-memory key/value store used while Redis is unreachable.

Entries expire by their own TTL and the least recently used entry is evicted
when the store is full (cachetools' ``TLRUCache``).  What is written during an
outage is remembered as *pending* so it can be merged into Redis later: values
and deletions carry the wall-clock time they were written (Redis keeps whichever
is newer), counters carry only the increments made here (Redis adds them up).
Pending writes are bounded too: past ``maxsize`` the oldest is dropped and counted.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
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

    @property
    def is_counter(self) -> bool:
        return self.delta is not None


class FallbackStore:
    def __init__(self, maxsize: int, *, timer=time.monotonic, clock=time.time):
        self._timer = timer
        self._clock = clock
        self._maxsize = maxsize
        self._cache: TLRUCache = TLRUCache(maxsize=maxsize, ttu=self._expiry, timer=timer)
        # Oldest first, so that the oldest write is the one dropped when too many are pending.
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._lock = threading.RLock()
        # Pending writes dropped because too many were pending; read and reset by take_dropped().
        self._dropped = 0

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
                self._remember(Pending(key, value, ttl, self._clock()))

    def delete(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._remember(Pending(key, None, None, self._clock()))

    def forget(self, matches) -> int:
        """Drops every entry and pending write whose key ``matches(key)``, leaving no deletion behind."""
        with self._lock:
            keys = [k for k in list(self._cache.keys()) if matches(k)]
            for key in keys:
                self._cache.pop(key, None)
            pending = [k for k in self._pending if matches(k)]
            for key in pending:
                del self._pending[key]
            return len(set(keys) | set(pending))

    def incr(self, key: str, ttl: float | None = None) -> int:
        """Counts locally; the increments are added to Redis's own count once it is back.

        After a value or a deletion written here during the same outage the count is a value
        like any other (newest write wins), as INCR after SET or DEL would leave it in Redis.
        """
        with self._lock:
            current = int(self.get(key) or 0) + 1
            remaining = self.ttl(key) or ttl
            value = str(current).encode()
            self.set(key, value, remaining, dirty=False)
            earlier = self._pending.get(key)
            if earlier is not None and not earlier.is_counter:
                self._remember(Pending(key, value, remaining, self._clock()))
            else:
                delta = (earlier.delta if earlier is not None else 0) + 1
                self._remember(Pending(key, None, remaining, self._clock(), delta=delta))
            return current

    def _remember(self, item: Pending) -> None:
        self._pending.pop(item.key, None)
        self._pending[item.key] = item
        while len(self._pending) > self._maxsize:
            self._pending.popitem(last=False)
            self._dropped += 1

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

    def give_back(self, items: list[Pending]) -> None:
        """Takes back writes that could not be merged into Redis, behind any written since.

        A later write of the same key supersedes what is given back, except that increments add up.
        """
        with self._lock:
            for item in reversed(items):
                later = self._pending.get(item.key)
                if later is None:
                    self._pending[item.key] = item
                    self._pending.move_to_end(item.key, last=False)
                elif later.is_counter and item.is_counter:
                    self._pending[item.key] = replace(later, delta=later.delta + item.delta)
            while len(self._pending) > self._maxsize:
                self._pending.popitem(last=False)
                self._dropped += 1

    def take_dropped(self) -> int:
        """How many pending writes were dropped since the last call."""
        with self._lock:
            dropped, self._dropped = self._dropped, 0
            return dropped

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
