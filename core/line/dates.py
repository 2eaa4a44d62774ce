"""LINE's days: the dates of its insight endpoints (followers, deliveries, statistics periods) are in UTC+9."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

LINE_TIMEZONE = timezone(timedelta(hours=9))


def line_day(moment: datetime) -> date:
    """The LINE day a moment falls on."""
    return moment.astimezone(LINE_TIMEZONE).date()


def line_day_start(day: date) -> datetime:
    """The first moment of a LINE day."""
    return datetime.combine(day, time.min, tzinfo=LINE_TIMEZONE)
