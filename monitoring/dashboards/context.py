"""What a panel's ``collect`` function gets: the merged metrics of every process, now and recently."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

Where = Callable[[dict[str, str]], bool] | None


@dataclass
class Samples:
    """Every sample of every metric family at one moment: name -> [(labels, value)]."""

    at: float
    values: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)

    @classmethod
    def from_families(cls, families: Iterable, at: float) -> Samples:
        values: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in families:
            for sample in family.samples:
                values.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
        return cls(at=at, values=values)

    def total(self, name: str, where: Where = None) -> float:
        return sum(value for labels, value in self.values.get(name, ()) if where is None or where(labels))

    def by_label(self, name: str, label: str, where: Where = None) -> dict[str, float]:
        totals: dict[str, float] = {}
        for labels, value in self.values.get(name, ()):
            if where is None or where(labels):
                key = labels.get(label, "")
                totals[key] = totals.get(key, 0.0) + value
        return totals

    def buckets(self, histogram: str, where: Where = None) -> dict[float, float]:
        """Cumulative counts by upper bound, summed over the histogram's other labels."""
        counts: dict[float, float] = {}
        for labels, value in self.values.get(f"{histogram}_bucket", ()):
            if where is None or where(labels):
                bound = float(labels["le"])
                counts[bound] = counts.get(bound, 0.0) + value
        return counts


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus's histogram_quantile: linear within the bucket that holds the q-th observation."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # above the largest finite bound: that bound is the best we know
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


class History:
    """The samples of the last ``keep`` seconds, one per tick."""

    def __init__(self, keep: float = 600.0):
        self.keep = keep
        self._items: deque[Samples] = deque()

    def add(self, samples: Samples) -> None:
        self._items.append(samples)
        while self._items and samples.at - self._items[0].at > self.keep:
            self._items.popleft()

    def ago(self, seconds: float) -> Samples | None:
        """The newest samples at least ``seconds`` old, or the oldest kept if none is that old."""
        if not self._items:
            return None
        now = self._items[-1].at
        chosen = self._items[0]
        for item in self._items:
            if now - item.at >= seconds:
                chosen = item
            else:
                break
        return chosen


@dataclass
class TickContext:
    now: datetime
    today_start: datetime
    samples: Samples
    history: History

    def total(self, name: str, where: Where = None) -> float:
        return self.samples.total(name, where)

    def increase(self, name: str, seconds: float, where: Where = None) -> float:
        """How much a counter grew over the last ``seconds`` (or since the oldest sample kept)."""
        past = self.history.ago(seconds)
        now = self.samples.total(name, where)
        if past is None or past is self.samples:
            return 0.0
        before = past.total(name, where)
        # A smaller total means the metrics were reset (a new directory): count from zero.
        return now - before if now >= before else now

    def rate(self, name: str, seconds: float, where: Where = None) -> float | None:
        past = self.history.ago(seconds)
        if past is None or self.samples.at - past.at < 0.5:
            return None
        return self.increase(name, seconds, where) / (self.samples.at - past.at)

    def increase_by_label(self, name: str, label: str, seconds: float, where: Where = None) -> dict[str, float]:
        past = self.history.ago(seconds)
        now = self.samples.by_label(name, label, where)
        before = past.by_label(name, label, where) if past is not None and past is not self.samples else now
        result = {}
        for key, value in now.items():
            grown = value - before.get(key, 0.0)
            result[key] = grown if grown >= 0 else value
        return result

    def quantile(self, histogram: str, q: float, seconds: float, where: Where = None) -> float | None:
        """The q-quantile of what the histogram observed over the last ``seconds``."""
        now = self.samples.buckets(histogram, where)
        past = self.history.ago(seconds)
        before = past.buckets(histogram, where) if past is not None and past is not self.samples else {}
        window = {bound: count - before.get(bound, 0.0) for bound, count in now.items()}
        if any(count < 0 for count in window.values()):
            window = now
        return quantile(q, window)
