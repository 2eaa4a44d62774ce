"""Metric samples (the series alert rules and SLOs read), service level objectives and compliance reports.

Imported by ``monitoring.models``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class MetricSample(models.Model):
    """One value of one series at one minute, written by ``monitoring.tasks.record_metric_samples``.

    Counters are stored as their running total (across every process), so the increase over a window
    is a difference; a smaller value than before means the metrics were reset.
    """

    series = models.CharField(max_length=200)
    at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        ordering = ["series", "at"]
        constraints = [models.UniqueConstraint(fields=["series", "at"], name="metric_sample_one_per_minute")]
        indexes = [models.Index(fields=["at"], name="metric_sample_at")]

    def __str__(self):
        return f"{self.series}@{self.at:%Y-%m-%d %H:%M} = {self.value}"


class ServiceLevelObjective(models.Model):
    class Indicator(models.TextChoices):
        WEBHOOK_ACK = "webhook_ack", "Webhook answered 2xx within 1 s"
        REPLY_LATENCY = "reply_latency", "Reply sent within 10 s of the event"
        PUSH_SUCCESS = "push_success", "Push calls that LINE accepted"
        MULTICAST_SUCCESS = "multicast_success", "Multicast calls that LINE accepted"
        CAMPAIGN_ON_TIME = "campaign_on_time", "Campaign sends delivered within their window"
        DASHBOARD_PUSH_LAG = "dashboard_push_lag", "Dashboard updates published within 250 ms"

    name = models.CharField(max_length=100, unique=True)
    indicator = models.CharField(max_length=32, choices=Indicator.choices)
    # e.g. 0.999 for 99.9% of events good
    objective = models.FloatField(default=0.99)
    window_days = models.PositiveIntegerField(default=30)
    # Burn-rate rules stay quiet while a long window holds fewer events: three failures out of three is
    # no emergency at night.
    min_events = models.PositiveIntegerField(default=20)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "service level objective"

    def __str__(self):
        return f"{self.name} ({self.objective:.3%} over {self.window_days} d)"

    def clean(self):
        if not 0 < self.objective < 1:
            raise ValidationError({"objective": "an objective is a fraction between 0 and 1, e.g. 0.999"})
        if not 1 <= self.window_days <= 35:
            raise ValidationError({"window_days": "a window is 1 to 35 days (samples are kept 35 days)"})

    @property
    def good_series(self) -> str:
        return f"sli:{self.indicator}:good"

    @property
    def total_series(self) -> str:
        return f"sli:{self.indicator}:total"


def _report_path(report, filename: str) -> str:
    return f"monitoring/reports/{report.month:%Y-%m}/{filename}"


class ComplianceReport(models.Model):
    """Each objective's compliance over one calendar month, kept as HTML and PDF."""

    month = models.DateField(unique=True, help_text="The first day of the month reported on")
    generated_at = models.DateTimeField(default=timezone.now)
    html = models.FileField(upload_to=_report_path, blank=True)
    pdf = models.FileField(upload_to=_report_path, blank=True)
    summary = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self):
        return f"SLO compliance {self.month:%Y-%m}"
