"""Writes that a process's threads make at the same moment, made together as one statement.

A webhook ack stores one small row, and most of what that costs, in the web process and in the
database, is the statement around the row: the round trip, the statement's execution and its
commit. A WSGI worker serves several requests on its threads at once, so while one of them waits
for its insert, others arrive at theirs. :class:`WriteGroup` lets those wait for the write under
way and then go as one statement, written by the first of them.

No write is delayed to make a group: a thread that finds nothing being written writes at once, alone.
Only threads that would have waited anyway (for the database, behind the write under way) are grouped.

A group's failure is no member's: when a statement for several items fails, each item is written
again alone, by its own thread, so an item fails only for its own reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Entry(Generic[Item, Result]):
    __slots__ = ("done", "failed", "item", "key", "leads", "result")

    def __init__(self, item: Item, key: Hashable):
        self.item = item
        self.key = key
        self.result: Result | None = None
        self.failed = False
        self.leads = False
        self.done = threading.Event()


class WriteGroup(Generic[Item, Result]):
    """Writes items with ``write``, several at a time when several threads write at once.

    ``write`` takes a list of items and returns their results in the same order, in one statement.
    It is called with at most ``largest()`` items, never two with the same ``key`` (a statement such
    as ``INSERT … ON CONFLICT DO UPDATE`` may not touch one row twice); an item whose key is already
    in the group waits for the next one.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], list[Result]],
        *,
        key: Callable[[Item], Hashable],
        largest: Callable[[], int],
    ):
        self._write = write
        self._key = key
        self._largest = largest
        self._lock = threading.Lock()
        self._writing = False
        self._waiting: list[_Entry[Item, Result]] = []

    @property
    def waiting(self) -> int:
        """How many threads wait for the write under way to end."""
        with self._lock:
            return len(self._waiting)

    def write(self, item: Item) -> Result:
        entry: _Entry[Item, Result] = _Entry(item, self._key(item))
        with self._lock:
            if self._writing:
                self._waiting.append(entry)
            else:
                self._writing = entry.leads = True
        if not entry.leads:
            entry.done.wait()
            if not entry.leads:
                return self._write([item])[0] if entry.failed else entry.result
        return self._lead(entry)

    def _lead(self, entry: _Entry[Item, Result]) -> Result:
        """Writes ``entry`` and what waits behind it, then hands the writing on to the next that waits."""
        group = [entry]
        try:
            group = self._take(entry)
            if len(group) == 1:
                return self._write([entry.item])[0]
            self._write_together(group)
        finally:
            # Even when the thread is stopped mid-write: whoever waits is woken, and writes alone.
            self._hand_on()
            for other in group[1:]:
                other.done.set()
        return self._write([entry.item])[0] if entry.failed else entry.result

    def _write_together(self, group: list[_Entry[Item, Result]]) -> None:
        for member in group:
            member.failed = True
        try:
            results = self._write([member.item for member in group])
        except Exception:  # noqa: BLE001 - each member writes again alone, and fails (or not) for its own reason
            return
        if len(results) == len(group):
            for member, result in zip(group, results, strict=True):
                member.result, member.failed = result, False

    def _take(self, entry: _Entry[Item, Result]) -> list[_Entry[Item, Result]]:
        group, keys, left = [entry], {entry.key}, []
        largest = self._largest()
        with self._lock:
            for waiting in self._waiting:
                if len(group) < largest and waiting.key not in keys:
                    group.append(waiting)
                    keys.add(waiting.key)
                else:
                    left.append(waiting)
            self._waiting = left
        return group

    def _hand_on(self) -> None:
        with self._lock:
            if not self._waiting:
                self._writing = False
                return
            following = self._waiting.pop(0)
        following.leads = True
        following.done.set()
