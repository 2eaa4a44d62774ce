"""The arithmetic of alert rules over series of (epoch seconds, value) points, oldest first.

Pure functions: ``monitoring.alert_services`` reads the points from the database and keeps the state.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

Points = Sequence[tuple[float, float]]

# Holt's smoothing of the level and of the trend.
HOLT_ALPHA = 0.5
HOLT_BETA = 0.3


@dataclass(frozen=True)
class Outcome:
    """Whether the rule's condition holds now, the number it is about, and why, in words."""

    active: bool
    value: float | None
    summary: str


def increase(points: Points) -> float:
    """How much a running total grew; a drop means the counters were reset, and counts from zero."""
    grown = 0.0
    for (_, before), (_, after) in itertools.pairwise(points):
        grown += after - before if after >= before else after
    return grown


def aggregate(points: Points, how: str) -> float | None:
    if not points:
        return None
    values = [v for _, v in points]
    if how == "avg":
        return sum(values) / len(values)
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "last":
        return values[-1]
    if how == "increase":
        return increase(points)
    raise ValueError(f"unknown aggregation {how!r}")


def rate_per_minute(points: Points) -> float | None:
    """The change of the value per minute between the first and the last point."""
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    return (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0]) * 60.0


def linear_forecast(points: Points, at: float) -> float | None:
    """The least-squares line through the points, read at time ``at``."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / spread
    return mean_v + slope * (at - mean_t)


def holt_forecast(points: Points, at: float, *, alpha: float = HOLT_ALPHA, beta: float = HOLT_BETA) -> float | None:
    """Holt's double exponential smoothing (level and trend per second), read at time ``at``."""
    if len(points) < 2:
        return None
    level = points[0][1]
    trend = (points[1][1] - points[0][1]) / max(points[1][0] - points[0][0], 1e-9)
    last_t = points[0][0]
    for t, value in points[1:]:
        step = t - last_t
        if step <= 0:
            continue
        previous = level
        level = alpha * value + (1 - alpha) * (level + trend * step)
        trend = beta * (level - previous) / step + (1 - beta) * trend
        last_t = t
    return level + trend * (at - last_t)


def compare(value: float | None, comparison: str, threshold: float) -> bool:
    if value is None:
        return False
    return value > threshold if comparison == "gt" else value < threshold


def error_ratio(good: Points, total: Points) -> float | None:
    """The share of bad events among those counted in the window, or None without events."""
    events = increase(total)
    if events <= 0:
        return None
    bad = events - increase(good)
    return min(max(bad / events, 0.0), 1.0)


def burn_rate(good: Points, total: Points, objective: float) -> float | None:
    """How fast the error budget burns: 1 spends exactly the budget over the objective's window."""
    ratio = error_ratio(good, total)
    return None if ratio is None else ratio / (1.0 - objective)


def within(points: Points, start: float, end: float) -> list[tuple[float, float]]:
    """The points of [start, end], with the last one before ``start`` as the window's baseline."""
    inside = [p for p in points if start <= p[0] <= end]
    before = [p for p in points if p[0] < start]
    return ([before[-1]] if before else []) + inside
