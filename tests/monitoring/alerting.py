"""Synthetic series for alerting tests: samples written straight into the table the rules read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from monitoring.models import MetricSample

NOW = timezone.make_aware(dt.datetime(2026, 11, 20, 12, 0))


def write_series(series: str, values: Callable[[int], float], *, minutes: int, end: dt.datetime = NOW) -> None:
    """One sample a minute for ``minutes`` minutes up to ``end``; ``values(i)`` with i minutes before the end."""
    MetricSample.objects.bulk_create(
        [MetricSample(series=series, at=end - dt.timedelta(minutes=i), value=values(i)) for i in range(minutes, -1, -1)]
    )


def write_counters(good: str, total: str, bad_per_minute: Callable[[int], float], *, minutes: int,
                   events_per_minute: float = 100.0, end: dt.datetime = NOW) -> None:
    """Running totals of good and all events, ``bad_per_minute(i)`` of each minute's events bad."""
    rows, seen, ok = [], 0.0, 0.0
    for i in range(minutes, -1, -1):
        if i < minutes:
            seen += events_per_minute
            ok += events_per_minute - bad_per_minute(i)
        at = end - dt.timedelta(minutes=i)
        rows += [MetricSample(series=total, at=at, value=seen), MetricSample(series=good, at=at, value=ok)]
    MetricSample.objects.bulk_create(rows)
