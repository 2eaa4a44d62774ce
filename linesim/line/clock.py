"""The double's clock: real time plus an offset that tests move forward to see what LINE does days later.

Everything that depends on dates in LINE's answers reads it: the days of the insight endpoints (UTC+9), when
interaction figures freeze, when a day's counts are ready, and the windows of the rate limits. Reply tokens and
retry keys keep real time, so that a test moving the clock does not expire what it is about to use.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

JST = timedelta(hours=9)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        # Only forward: figures already frozen or counted must not come undone.
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0

    def describe(self) -> dict[str, float | str]:
        now = self.now()
        return {"now": now, "offsetSeconds": self.offset, "lineDay": line_day(now)}


def line_day(timestamp: float) -> str:
    """LINE's insight dates are yyyyMMdd in UTC+9."""
    return (datetime.fromtimestamp(timestamp, tz=UTC) + JST).strftime("%Y%m%d")


def day_start(day: str) -> float:
    """The first second of a yyyyMMdd day in UTC+9, as a timestamp."""
    return (datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC) - JST).timestamp()
