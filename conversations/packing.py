"""How many events the outbox relay puts in one task message.

One event per message while the workers keep up, so every event can go to a free worker at once. When
messages are already waiting in the queue, every worker is busy and this round's events will wait
whatever is done with them; then they are packed, several to a message, and each message costs the
relay, the broker and the worker's task handling once for its whole pack (docs/PERFORMANCE.md).

A pack is answered one event after another by one worker, so an event in it may wait for the answers
before it. Packs therefore grow only with the backlog: never more events to a message than whole rounds
of this size already wait ahead of it, and never more than ``largest``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.logging import get_logger

log = get_logger(__name__)


@dataclass
class Packing:
    """The relay's packing state; ``largest=1`` turns packing off.

    The queue's depth costs a round trip to the broker, so it is read at most every ``recheck`` seconds
    and only for rounds of two events or more.
    """

    largest: int
    recheck: float = 0.5
    _waiting: int = field(default=0, init=False)
    _checked_at: float = field(default=float("-inf"), init=False)
    _size: int = field(default=1, init=False)

    def size(self, *, events: int, now: float, waiting: Callable[[], int]) -> int:
        """Events per message for a round of ``events``; ``waiting()`` reads how many messages wait in the queue."""
        if events < 2 or self.largest < 2:
            return 1
        if now - self._checked_at >= self.recheck:
            self._waiting = waiting()
            self._checked_at = now
        size = max(1, min(self.largest, self._waiting // events))
        if size != self._size:  # logged when it changes, not for every round
            log.info("line_webhook_events_packing", events_per_task=size, waiting=self._waiting, round_events=events)
            self._size = size
        return size


def shares(event_ids: list[int], size: int) -> list[list[int]]:
    """``event_ids`` in messages of at most ``size``, dealt in turn so each message starts with an early event."""
    count = -(-len(event_ids) // max(size, 1))
    return [event_ids[i::count] for i in range(count)]
