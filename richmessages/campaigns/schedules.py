"""When a campaign goes out: once, at a time, or on an RFC 5545 recurrence read in the campaign's time zone.

Occurrences are wall-clock times ("every Monday at 09:00 in Asia/Bangkok"), so a recurrence keeps its local
hour across daylight-saving changes. With ``local_time`` the wall-clock time is meant in each recipient's
own zone: the send starts when that time first comes anywhere (UTC+14) and each recipient is held until
it comes where they are.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from core.errors import ValidationError

# The first zone to reach any wall-clock time (Line Islands, UTC+14).
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")
ALLOWED_FREQUENCIES = {DAILY: "DAILY", WEEKLY: "WEEKLY", MONTHLY: "MONTHLY", YEARLY: "YEARLY"}
RECURRENCE_MAX_CHARS = 500
# An approved one-off whose time passed longer ago than this is not sent late without being asked again.
LATE_TOLERANCE = timedelta(minutes=5)


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; raises ValidationError for anything else."""
    if not isinstance(name, str) or not name or name not in _zone_names():
        raise ValidationError(
            "Unknown time zone.", details={"timezone": [f"{name!r} is not an IANA time zone such as Asia/Bangkok"]}
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Unknown time zone.", details={"timezone": [f"{name!r} is not available"]}) from None


_ZONES: set[str] | None = None


def _zone_names() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC"}
    return _ZONES


def zone_or_default(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """A user's zone when it is a valid one, else ``default`` (users' zones come from outside)."""
    if name and name in _zone_names():
        return ZoneInfo(name)
    return default


def wall(moment: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall-clock time of ``moment`` in ``tz``."""
    return moment.astimezone(tz).replace(tzinfo=None)


def at_wall(local: datetime, tz: ZoneInfo) -> datetime:
    """The moment the wall clock in ``tz`` shows ``local`` (the earlier one in a repeated hour)."""
    return local.replace(tzinfo=tz).astimezone(UTC)


def parse_recurrence(rule: str, *, start_wall: datetime) -> rrule:
    """An RRULE (with or without the ``RRULE:`` prefix) starting at ``start_wall``; ValidationError if bad."""

    def bad(message: str) -> ValidationError:
        return ValidationError("The recurrence is not valid.", details={"recurrence": [message]})

    if not isinstance(rule, str) or not rule.strip():
        raise bad("must be an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO")
    text = rule.strip()
    if len(text) > RECURRENCE_MAX_CHARS:
        raise bad(f"must be at most {RECURRENCE_MAX_CHARS} characters")
    upper = text.upper()
    if "DTSTART" in upper or "\n" in text or "EXDATE" in upper or "RDATE" in upper:
        raise bad("give one RRULE only; its start is the campaign's send_at")
    if upper.startswith("RRULE:"):
        text = text[6:]
    try:
        parsed = rrulestr(text, dtstart=start_wall)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise bad(f"could not be read: {exc}") from None
    if not isinstance(parsed, rrule):
        raise bad("give one RRULE only")
    if parsed._freq not in ALLOWED_FREQUENCIES:
        raise bad(f"FREQ must be one of {', '.join(ALLOWED_FREQUENCIES.values())} (no more often than daily)")
    if parsed._until is not None and parsed._until.tzinfo is not None:
        # UNTIL in UTC ("...Z") is compared with naive wall times: read it as this zone's wall time instead.
        raise bad("write UNTIL without a time zone (it is read in the campaign's time zone)")
    return parsed


def first_wall(*, send_at: datetime | None, recurrence: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The wall time of the first occurrence at or after ``now``; None when there is none left."""
    # RRULE occurrences have whole seconds.
    start = wall(send_at, tz).replace(microsecond=0) if send_at else wall(now, tz).replace(second=0, microsecond=0)
    if not recurrence:
        if send_at is not None and at_wall(start, tz) < now - LATE_TOLERANCE:
            return None
        return start
    rule = parse_recurrence(recurrence, start_wall=start)
    # An occurrence a few minutes past (a review that ended just after it) still counts.
    return rule.after(max(start, wall(now - LATE_TOLERANCE, tz)), inc=True)


def next_wall(*, send_at: datetime | None, recurrence: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The occurrence after the wall time ``after``; None for a single send or an ended recurrence."""
    if not recurrence:
        return None
    start = wall(send_at, tz).replace(microsecond=0) if send_at else after
    return parse_recurrence(recurrence, start_wall=start).after(after, inc=False)


def due_at(local: datetime, *, tz: ZoneInfo, local_time: bool) -> datetime:
    """When the send of an occurrence starts: at the wall time in ``tz``, or where it comes first."""
    return at_wall(local, EARLIEST_ZONE if local_time else tz)


def occurrence_wall(send_due_at: datetime, *, tz: ZoneInfo, local_time: bool) -> datetime:
    """The wall time a send stands for (the inverse of :func:`due_at`)."""
    return wall(send_due_at, EARLIEST_ZONE if local_time else tz)


def step_due_at(followed_at: datetime, days: int) -> datetime:
    return followed_at + timedelta(days=days)


def in_window(local: time, start: time, end: time) -> bool:
    """Whether the local time is inside [start, end), a window that may pass midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def window_end(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """If ``now`` is inside the local window [start, end) in ``tz``, the moment it ends; else None."""
    local = wall(now, tz)
    if not in_window(local.time(), start, end):
        return None
    end_wall = datetime.combine(local.date(), end)
    if end_wall <= local:
        end_wall += timedelta(days=1)
    return at_wall(end_wall, tz)
