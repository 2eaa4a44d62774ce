"""Fetches LINE's insight figures into snapshots, within LINE's 60 insight requests an hour.

Each run (a beat task every 10 minutes) lists what is due, most urgent first, and fetches while the budget every
process shares (:func:`core.line.budget.insight_budget`) lasts; the rest waits for a later run. In order:

0. a followed request or unit in its last hour before LINE stops updating it, so its last figures are caught;
1. a followed request or unit never fetched;
2. follower and delivery counts of the last INSIGHT_BACKFILL_DAYS days not fetched yet, newest first;
3. today's friend demographics;
4. followed requests and units last tried INSIGHT_REFRESH_SECONDS ago or more;
5. days LINE answered "unready" for, again after INSIGHT_UNREADY_RETRY_SECONDS.

Nothing is fetched for a request once 14 days have passed since it was sent (for a unit, since its last send in
its period): LINE no longer updates the figures, so the last snapshot is marked final. A 429 closes the budget for
a while (5 minutes, doubling while LINE keeps refusing) and ends the run; any other failure is noted on the item,
which is tried again later. Runs are safe to overlap: the second one finds the first at work and returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from analytics.insight_models import (
    DELIVERY_FIELDS,
    FIGURES_UPDATED_FOR,
    DeliverySnapshot,
    DemographicSnapshot,
    FollowerSnapshot,
    InsightStatus,
    MessageEventSnapshot,
    TrackedRequest,
    TrackedUnit,
    UnitSnapshot,
)
from core.errors import LineApiError
from core.line.budget import insight_budget
from core.line.client import LineClient, get_line_client
from core.line.dates import line_day
from core.logging import get_logger
from core.redis import get_redis

log = get_logger(__name__)

CLOSING_WINDOW = timedelta(hours=1)
_LOCK = "insight:sync:lock"
_OVERVIEW = {
    "unique_impression": "uniqueImpression",
    "unique_click": "uniqueClick",
    "unique_media_played": "uniqueMediaPlayed",
    "unique_media_played_100": "uniqueMediaPlayed100Percent",
}
_DEMOGRAPHICS = {
    "genders": "genders",
    "ages": "ages",
    "areas": "areas",
    "app_types": "appTypes",
    "subscription_periods": "subscriptionPeriods",
}


@dataclass(order=True)
class Job:
    rank: tuple[int, float]
    key: str = field(compare=False)
    fetch: Callable[[LineClient, datetime], None] = field(compare=False)
    failed: Callable[[datetime, str], None] = field(compare=False)


@dataclass
class SyncReport:
    fetched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    finished: int = 0
    waiting: int = 0
    # Why the run ended early: "busy" (another run), "budget", "rate_limited" (LINE answered 429) or "time".
    stopped: str | None = None
    resume_in: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fetched": len(self.fetched),
            "failed": len(self.failed),
            "finished": self.finished,
            "waiting": self.waiting,
            "stopped": self.stopped,
            "resume_in": self.resume_in,
        }


def insight_sync(*, now: datetime | None = None) -> SyncReport:
    """One run of the sync (see the module's description); ``now`` is for tests and defaults to the present."""
    now = now or timezone.now()
    report = SyncReport()
    redis = get_redis()
    if redis.incr(_LOCK, ttl=settings.INSIGHT_SYNC_MAX_SECONDS + 120) != 1:
        report.stopped = "busy"
        return report
    try:
        report.finished = _finish_frozen(now)
        jobs = sorted(_due_jobs(now))
        _run(jobs, now, report)
    finally:
        redis.delete(_LOCK)
    log.info("insight_synced", **report.as_dict())
    return report


def _run(jobs: list[Job], now: datetime, report: SyncReport) -> None:
    budget = insight_budget()
    client = get_line_client()
    started = time.monotonic()

    def moment() -> float:
        # The run's ``now`` plus the time it has taken: LINE counts requests when they arrive.
        return now.timestamp() + (time.monotonic() - started)

    for position, job in enumerate(jobs):
        report.waiting = len(jobs) - position
        if time.monotonic() - started >= settings.INSIGHT_SYNC_MAX_SECONDS:
            report.stopped = "time"
            return
        grant = budget.take(now=moment())
        if not grant.granted:
            report.stopped, report.resume_in = "budget", grant.wait
            return
        try:
            job.fetch(client, now)
        except LineApiError as exc:
            if exc.status == 429:
                report.stopped, report.resume_in = "rate_limited", budget.back_off(now=moment())
                return
            _note_failure(job, now, str(exc), report)
        except ValueError as exc:  # an answer that is not what LINE documents
            _note_failure(job, now, f"unexpected answer: {exc}", report)
        else:
            report.fetched.append(job.key)
        budget.answered()
    report.waiting = 0


def _note_failure(job: Job, now: datetime, error: str, report: SyncReport) -> None:
    log.warning("insight_fetch_failed", job=job.key, error=error[:300])
    job.failed(now, error[:500])
    report.failed.append(job.key)


# -- what is due ---------------------------------------------------------------------------------------------------
def _due_jobs(now: datetime) -> Iterator[Job]:
    yield from _request_jobs(now)
    yield from _unit_jobs(now)
    yield from _daily_jobs(now, "followers", FollowerSnapshot, _fetch_followers)
    yield from _daily_jobs(now, "deliveries", DeliverySnapshot, _fetch_deliveries)
    yield from _demographics_jobs(now)


def _rank(tracked, now: datetime, started: datetime) -> tuple[int, float] | None:
    last = tracked.last_attempt_at
    if last is None:
        return (1, started.timestamp())
    closing = tracked.follow_until - CLOSING_WINDOW
    if now >= closing and last < closing:
        return (0, tracked.follow_until.timestamp())
    if now - last >= timedelta(seconds=settings.INSIGHT_REFRESH_SECONDS):
        return (4, last.timestamp())
    return None


def _request_jobs(now: datetime) -> Iterator[Job]:
    for tracked in TrackedRequest.objects.filter(finished_at__isnull=True, sent_at__gt=now - FIGURES_UPDATED_FOR):
        rank = _rank(tracked, now, tracked.sent_at)
        if rank is not None:
            key = f"request:{tracked.request_id}"
            yield Job(rank, key, partial(_fetch_request, tracked), partial(_failed, tracked))


def _unit_jobs(now: datetime) -> Iterator[Job]:
    for tracked in TrackedUnit.objects.filter(finished_at__isnull=True):
        rank = _rank(tracked, now, tracked.first_sent) if now < tracked.follow_until else None
        if rank is not None:
            yield Job(rank, f"unit:{tracked.unit}", partial(_fetch_unit, tracked), partial(_failed, tracked))


def _daily_jobs(
    now: datetime, kind: str, model: type[models.Model], fetch: Callable[[date, LineClient, datetime], None]
) -> Iterator[Job]:
    today = line_day(now)
    # Today is never calculated yet; LINE has the days before.
    days = [today - timedelta(days=n) for n in range(1, settings.INSIGHT_BACKFILL_DAYS + 1)]
    known = {snapshot.date: snapshot for snapshot in model.objects.filter(date__in=days)}
    retry = timedelta(seconds=settings.INSIGHT_UNREADY_RETRY_SECONDS)
    for day in days:
        key = f"{kind}:{day:%Y%m%d}"
        snapshot = known.get(day)
        if snapshot is None and not _failed_recently(key, now):
            rank = (2, float(-day.toordinal()))
        elif snapshot is not None and snapshot.status == InsightStatus.UNREADY and now - snapshot.fetched_at >= retry:
            rank = (5, snapshot.fetched_at.timestamp())
        else:
            continue
        yield Job(rank, key, partial(fetch, day), partial(_remember_failure, key))


def _demographics_jobs(now: datetime) -> Iterator[Job]:
    today = line_day(now)
    key = f"demographics:{today:%Y%m%d}"
    if not DemographicSnapshot.objects.filter(date=today).exists() and not _failed_recently(key, now):
        yield Job((3, 0.0), key, _fetch_demographics, partial(_remember_failure, key))


def _finish_frozen(now: datetime) -> int:
    """Retires what LINE no longer updates: its snapshot is final, and it is never fetched again."""
    frozen = list(
        TrackedRequest.objects.filter(finished_at__isnull=True, sent_at__lte=now - FIGURES_UPDATED_FOR).values_list(
            "pk", flat=True
        )
    )
    MessageEventSnapshot.objects.filter(request_id__in=frozen).update(final=True)
    TrackedRequest.objects.filter(pk__in=frozen).update(finished_at=now)
    units = [unit.pk for unit in TrackedUnit.objects.filter(finished_at__isnull=True) if now >= unit.follow_until]
    UnitSnapshot.objects.filter(unit_id__in=units).update(final=True)
    TrackedUnit.objects.filter(pk__in=units).update(finished_at=now)
    return len(frozen) + len(units)


# -- failures ------------------------------------------------------------------------------------------------------
def _failed(tracked, now: datetime, error: str) -> None:
    type(tracked).objects.filter(pk=tracked.pk).update(last_attempt_at=now, last_error=error)


def _remember_failure(key: str, now: datetime, error: str) -> None:
    # Days and demographics have no row until LINE answers: the failure waits in Redis, with its time.
    get_redis().set(f"insight:failed:{key}", repr(now.timestamp()), ttl=settings.INSIGHT_UNREADY_RETRY_SECONDS)


def _failed_recently(key: str, now: datetime) -> bool:
    failed_at = get_redis().get(f"insight:failed:{key}")
    if failed_at is None:
        return False
    return now.timestamp() - float(failed_at) < settings.INSIGHT_UNREADY_RETRY_SECONDS


# -- fetching and storing ------------------------------------------------------------------------------------------
def _figure(data: dict[str, Any], name: str) -> int | None:
    """A count as LINE sent it; None is LINE's null (hidden, or not calculated), never turned into zero."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} is {value!r}, not a count")
    return value


def _status(data: dict[str, Any]) -> str:
    status = data.get("status")
    if status not in InsightStatus.values:
        raise ValueError(f"status is {status!r}")
    return status


def _list(data: dict[str, Any], name: str) -> list:
    value = data.get(name) or []
    if not isinstance(value, list):
        raise ValueError(f"{name} is not a list")
    return value


def _store(model: type[models.Model], lookup: dict[str, Any], figures: dict[str, Any], now: datetime) -> None:
    """Updates the snapshot in place (it is the same day's figures, fresher), or creates it."""
    with transaction.atomic():
        updated = model.objects.filter(**lookup).update(**figures, fetched_at=now, fetch_count=F("fetch_count") + 1)
        if not updated:
            model.objects.create(**lookup, **figures, fetched_at=now, fetch_count=1)


def _fetch_followers(day: date, client: LineClient, now: datetime) -> None:
    data = client.get_number_of_followers(day)
    figures = {name: _figure(data, key) for name, key in (("followers", "followers"), ("blocks", "blocks"))}
    figures["targeted_reaches"] = _figure(data, "targetedReaches")
    _store(FollowerSnapshot, {"date": day}, {"status": _status(data), **figures}, now)


def _fetch_deliveries(day: date, client: LineClient, now: datetime) -> None:
    data = client.get_number_of_message_deliveries(day)
    figures = {name: _figure(data, key) for key, name in DELIVERY_FIELDS.items()}
    _store(DeliverySnapshot, {"date": day}, {"status": _status(data), **figures}, now)


def _fetch_demographics(client: LineClient, now: datetime) -> None:
    data = client.get_friends_demographics()
    figures = {name: _list(data, key) for name, key in _DEMOGRAPHICS.items()}
    _store(DemographicSnapshot, {"date": line_day(now)}, {"available": bool(data.get("available")), **figures}, now)


def _message_figures(data: dict[str, Any]) -> dict[str, Any]:
    overview = data.get("overview") or {}
    figures = {name: _figure(overview, key) for name, key in _OVERVIEW.items()}
    return {**figures, "messages": _list(data, "messages"), "clicks": _list(data, "clicks")}


def _fetch_request(tracked: TrackedRequest, client: LineClient, now: datetime) -> None:
    data = client.get_message_event(tracked.request_id)
    figures = _message_figures(data)
    figures.update(date=line_day(tracked.sent_at), delivered=_figure(data.get("overview") or {}, "delivered"))
    with transaction.atomic():
        _store(MessageEventSnapshot, {"request": tracked}, figures, now)
        TrackedRequest.objects.filter(pk=tracked.pk).update(last_attempt_at=now, last_error="")


def _fetch_unit(tracked: TrackedUnit, client: LineClient, now: datetime) -> None:
    start, end = tracked.period(now)
    data = client.get_statistics_per_unit(tracked.unit, start, end)
    figures = {**_message_figures(data), "date_from": start, "date_to": end}
    with transaction.atomic():
        _store(UnitSnapshot, {"unit": tracked}, figures, now)
        TrackedUnit.objects.filter(pk=tracked.pk).update(last_attempt_at=now, last_error="")
