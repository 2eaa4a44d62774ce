"""Daily rollups of events, the only thing reports read: recomputed for any range, kept up to date incrementally.

A day is a day in ``ANALYTICS_TIME_ZONE``. Recomputing a range deletes its rows and computes them again from the
events, in one transaction, so it is safe to run twice or concurrently with the beat task (which takes the same
lock). The incremental run reads events added since the last run (by id, with a margin for transactions that
committed out of order), and recomputes the days they fall on and the day before each (whose deliveries'
``engaged_24h`` and ``blocked_24h`` look a day ahead).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from analytics.models import ENGAGEMENT_TYPES, DailyRollup, Event, RollupState
from core.logging import get_logger

log = get_logger(__name__)

WINDOW = timedelta(hours=24)
# Events committed after a later id was rolled up are still found: this many ids are read again each run.
ID_MARGIN = 1000
TAP_TYPES = (Event.Type.POSTBACK, Event.Type.RICHMENU_TAP, Event.Type.LINK_CLICK)
SEND_TYPES = (Event.Type.DELIVERED, Event.Type.HOLDOUT)
KEY = ("day", "type", "campaign", "variant", "version", "button")


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.ANALYTICS_TIME_ZONE)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants from the start of ``start`` to the start of the day after ``end``, in the report zone."""
    zone = report_zone()
    return datetime.combine(start, dtime.min, zone), datetime.combine(end + timedelta(days=1), dtime.min, zone)


def _events(start: date, end: date, types) -> object:
    since, until = day_bounds(start, end)
    return Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until, type__in=types).annotate(
        day=TruncDate("occurred_at", tzinfo=report_zone()),
        campaign=Coalesce("campaign_id", Value(0)),
        version=Coalesce("template_version_id", Value(0)),
    )


def _new_users(start: date, end: date, *, with_button: bool) -> Counter:
    """Per key and day: the users whose first tap (or click) of the key, ever, fell on the day.

    One grouped scan of the taps of the users seen in the range (their first per key), counted per day here:
    a correlated lookup per event would read each user's history once per tap.
    """
    since, until = day_bounds(start, end)
    seen = Event.objects.filter(
        occurred_at__gte=since, occurred_at__lt=until, type__in=TAP_TYPES, line_user_id__isnull=False
    ).values("line_user_id")
    key = ["type", "campaign", "variant", "version", *(["button"] if with_button else [])]
    firsts = (
        Event.objects.filter(type__in=TAP_TYPES, line_user_id__in=seen, occurred_at__lt=until)
        .annotate(campaign=Coalesce("campaign_id", Value(0)), version=Coalesce("template_version_id", Value(0)))
        .values(*key, "line_user_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__gte=since)
        .order_by()
    )
    zone = report_zone()
    counts: Counter = Counter()
    for row in firsts.iterator(chunk_size=10_000):
        button = row["button"] if with_button else DailyRollup.ALL_BUTTONS
        day = row["first"].astimezone(zone).date()
        counts[(day, row["type"], row["campaign"], row["variant"], row["version"], button)] += 1
    return counts


def _within_24h(types) -> Exists:
    return Exists(
        Event.objects.filter(
            line_user_id=OuterRef("line_user_id"),
            type__in=types,
            occurred_at__gt=OuterRef("occurred_at"),
            occurred_at__lte=OuterRef("occurred_at") + WINDOW,
        )
    )


def _rows(start: date, end: date) -> list[dict]:
    users = Count("line_user_id", distinct=True)
    rows: list[dict] = []
    plain = _events(start, end, [t for t in Event.Type.values if t not in TAP_TYPES + SEND_TYPES])
    rows += plain.values(*KEY).annotate(events=Count("id"), users=users).order_by()
    new_users = _new_users(start, end, with_button=True) + _new_users(start, end, with_button=False)
    taps = _events(start, end, TAP_TYPES)
    rows += taps.values(*KEY).annotate(events=Count("id"), users=users).order_by()
    # One row per key for every button together: a user tapping two buttons is one unique tapper.
    for row in taps.values(*KEY[:-1]).annotate(events=Count("id"), users=users).order_by():
        rows.append({**row, "button": DailyRollup.ALL_BUTTONS})
    for row in rows:
        if row["type"] in TAP_TYPES:
            row["new_users"] = new_users.get(tuple(row[name] for name in KEY), 0)
    sends = _events(start, end, SEND_TYPES).annotate(
        engaged=_within_24h(ENGAGEMENT_TYPES), blocked=_within_24h([Event.Type.UNFOLLOW])
    )
    rows += (
        sends.values(*KEY)
        .annotate(
            events=Count("id"),
            users=users,
            engaged_24h=Count("line_user_id", distinct=True, filter=Q(engaged=True)),
            blocked_24h=Count("line_user_id", distinct=True, filter=Q(blocked=True)),
        )
        .order_by()
    )
    return rows


def _lock() -> RollupState:
    RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=1)


def rollups_recompute(*, start: date, end: date) -> int:
    """Computes the rollups of every day from ``start`` to ``end`` (report zone) again; returns the rows written."""
    if end < start:
        raise ValueError("the range ends before it starts")
    now = timezone.now()
    with transaction.atomic():
        _lock()
        return _write(start, end, now)


def _write(start: date, end: date, now: datetime) -> int:
    DailyRollup.objects.filter(day__range=(start, end)).delete()
    rollups = [
        DailyRollup(
            day=row["day"],
            type=row["type"],
            campaign_id=row["campaign"],
            variant=row["variant"],
            template_version_id=row["version"],
            button=row["button"],
            events=row["events"],
            users=row["users"],
            new_users=row.get("new_users", 0),
            engaged_24h=row.get("engaged_24h", 0),
            blocked_24h=row.get("blocked_24h", 0),
            computed_at=now,
        )
        for row in _rows(start, end)
    ]
    DailyRollup.objects.bulk_create(rollups, batch_size=1000)
    return len(rollups)


def _ranges(days: set[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def rollups_update() -> dict[str, int]:
    """Brings the rollups up to date with the events added since the last run. Safe to run twice."""
    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        state = _lock()
        top = Event.objects.aggregate(top=Max("id"))["top"] or 0
        if top <= state.last_event_id:
            return {"days": 0, "rows": 0}
        fresh = Event.objects.filter(id__gt=max(0, state.last_event_id - ID_MARGIN), id__lte=top)
        days = set(
            fresh.annotate(day=TruncDate("occurred_at", tzinfo=report_zone()))
            .values_list("day", flat=True)
            .distinct()
            .order_by()
        )
        days |= {day - timedelta(days=1) for day in days}
        rows = sum(_write(start, end, now) for start, end in _ranges(days))
        RollupState.objects.filter(pk=state.pk).update(last_event_id=top, updated_at=now)
    log.info("analytics_rollups_updated", days=len(days), rows=rows, seconds=round(time.monotonic() - started, 3))
    return {"days": len(days), "rows": rows}
