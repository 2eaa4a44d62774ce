"""One LINE user's engagement profile, in the user's own time zone.

Engaged means the user did something (a message, a postback or rich-menu tap, a link click). Days and hours are
the user's local ones: ``LineUser.timezone`` when known, else ``ANALYTICS_TIME_ZONE``; so two taps at 23:30 and
00:30 Bangkok time are two engaged days in Bangkok and one in Tokyo. The current streak is the run of engaged
days ending today or yesterday (today is not over yet); the longest is the longest run ever.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone

from analytics.models import ENGAGEMENT_TYPES, Event
from conversations.models import LineUser

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def zone_of(user: LineUser) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone) if user.timezone else ZoneInfo(settings.ANALYTICS_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.ANALYTICS_TIME_ZONE)


def streaks(days: list[date], today: date) -> tuple[int, int]:
    """(current, longest) runs of consecutive days in the sorted, distinct ``days``."""
    longest = run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return current, longest


def user_profile(user: LineUser, *, now: datetime | None = None) -> dict[str, Any]:
    zone = zone_of(user)
    now = now or timezone.now()
    heatmap = [[0] * 24 for _ in WEEKDAYS]
    days: set[date] = set()
    last: datetime | None = None
    times = (
        Event.objects.filter(line_user_id=user.pk, type__in=ENGAGEMENT_TYPES)
        .order_by()
        .values_list("occurred_at", flat=True)
        .iterator(chunk_size=5000)
    )
    for moment in times:
        local = moment.astimezone(zone)
        heatmap[local.weekday()][local.hour] += 1
        days.add(local.date())
        last = moment if last is None or moment > last else last
    current, longest = streaks(sorted(days), now.astimezone(zone).date())
    followed = user.followed_at.astimezone(zone) if user.followed_at else None
    return {
        "line_user_id": user.line_user_id,
        "timezone": zone.key,
        "status": user.status,
        "last_engaged_at": last,
        "engaged_days": len(days),
        "current_streak_days": current,
        "longest_streak_days": longest,
        "cohort": _cohort(followed),
        "followed_at": user.followed_at,
        "heatmap": {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "counts": heatmap},
    }


def _cohort(followed: datetime | None) -> str | None:
    """The ISO week the user (last) followed in, in their zone, e.g. ``2026-W48``."""
    if followed is None:
        return None
    year, week, _ = followed.isocalendar()
    return f"{year}-W{week:02d}"
