"""Reads for the ops console and its dashboards."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from monitoring.models import ErrorKind, MetricSample


def recent_error_kinds(since: datetime, *, limit: int = 20) -> list[ErrorKind]:
    """Kinds of error first seen at or after ``since``, newest first: new kinds of error as they appear.

    Each has ``exception_type``, ``location``, ``message``, ``count``, ``first_seen``, ``last_seen``,
    ``process_kinds`` and ``correlation_ids``; its page in the ops console is
    ``reverse("admin:monitoring_errorkind_change", args=[kind.pk])``.
    """
    return list(ErrorKind.objects.filter(first_seen__gte=since).order_by("-first_seen", "-id")[:limit])


def series_points(series: str, *, since: datetime, until: datetime) -> list[tuple[float, float]]:
    """The samples of one series in [since, until] as (epoch seconds, value), oldest first."""
    rows = MetricSample.objects.filter(series=series, at__gte=since, at__lte=until).order_by("at")
    return [(at.timestamp(), value) for at, value in rows.values_list("at", "value")]


def series_names() -> list[str]:
    """Every series sampled in the last ten minutes, for the rule form's help."""
    since = timezone.now() - timedelta(minutes=10)
    return sorted(MetricSample.objects.filter(at__gte=since).values_list("series", flat=True).distinct())
