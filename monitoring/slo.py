"""Service level objectives read from the sampled series: compliance, error budget and its burn-down.

The campaign indicator comes from the database (campaign sends finished within their window after the
time they were due), registered here as a series so that it is sampled like the metrics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from monitoring import alert_rules
from monitoring.models import ServiceLevelObjective
from monitoring.selectors import series_points
from monitoring.series import register_series
from richmessages.campaigns.models import CampaignSend

BURN_DOWN_POINTS = 120


def campaign_indicator() -> dict[str, float]:
    finished = CampaignSend.objects.filter(status__in=[CampaignSend.Status.DONE, CampaignSend.Status.FAILED])
    window = dt.timedelta(seconds=settings.SLO_CAMPAIGN_WINDOW_SECONDS)
    on_time = finished.filter(status=CampaignSend.Status.DONE, finished_at__lte=F("due_at") + window)
    return {"sli:campaign_on_time:good": float(on_time.count()), "sli:campaign_on_time:total": float(finished.count())}


register_series("campaign_on_time", campaign_indicator)


def percent(value: float | None) -> str:
    return "no events" if value is None else f"{value * 100:.3f}%"


@dataclass
class Status:
    slo: ServiceLevelObjective
    start: dt.datetime
    end: dt.datetime
    good: float
    total: float
    # (epoch seconds, fraction of the budget left), oldest first
    burn_down: list[tuple[float, float]] = field(default_factory=list)

    @property
    def bad(self) -> float:
        return max(self.total - self.good, 0.0)

    @property
    def ratio(self) -> float | None:
        return None if self.total <= 0 else self.good / self.total

    @property
    def met(self) -> bool:
        return self.ratio is None or self.ratio >= self.slo.objective

    @property
    def budget_remaining(self) -> float:
        """The share of the error budget left: 1 with nothing spent, negative once overspent."""
        allowed = (1.0 - self.slo.objective) * self.total
        if allowed <= 0:
            return 1.0 if self.bad == 0 else 0.0
        return 1.0 - self.bad / allowed

    def as_row(self) -> dict:
        return {
            "name": self.slo.name,
            "indicator": self.slo.get_indicator_display(),
            "objective": self.slo.objective,
            "good": self.good,
            "total": self.total,
            "ratio": self.ratio,
            "met": self.met,
            "budget_remaining": self.budget_remaining,
            "objective_text": percent(self.slo.objective),
            "ratio_text": percent(self.ratio),
            "budget_text": f"{self.budget_remaining * 100:.1f}%",
        }


def _cumulative(points) -> list[tuple[float, float]]:
    grown, out = 0.0, []
    for i, (t, _) in enumerate(points):
        if i:
            grown += alert_rules.increase(points[i - 1 : i + 1])
        out.append((t, grown))
    return out


def slo_status(slo: ServiceLevelObjective, *, start: dt.datetime, end: dt.datetime, burn_down: bool = False) -> Status:
    """The objective's events between ``start`` and ``end`` (a window ending now, or a calendar month)."""
    t0, t1 = start.timestamp(), end.timestamp()
    lookback = start - dt.timedelta(minutes=5)
    good = alert_rules.within(series_points(slo.good_series, since=lookback, until=end), t0, t1)
    total = alert_rules.within(series_points(slo.total_series, since=lookback, until=end), t0, t1)
    status = Status(slo, start, end, alert_rules.increase(good), alert_rules.increase(total))
    if burn_down:
        allowed = (1.0 - slo.objective) * status.total
        good_by_t = dict(_cumulative(good))
        points = []
        for t, seen in _cumulative(total):
            bad = max(seen - good_by_t.get(t, 0.0), 0.0)
            points.append((t, 1.0 - bad / allowed if allowed > 0 else (1.0 if bad == 0 else 0.0)))
        step = max(len(points) // BURN_DOWN_POINTS, 1)
        status.burn_down = points[::step] + ([points[-1]] if points and (len(points) - 1) % step else [])
    return status


def current_statuses(now: dt.datetime | None = None) -> list[Status]:
    now = now or timezone.now()
    return [
        slo_status(slo, start=now - dt.timedelta(days=slo.window_days), end=now, burn_down=True)
        for slo in ServiceLevelObjective.objects.filter(enabled=True)
    ]
