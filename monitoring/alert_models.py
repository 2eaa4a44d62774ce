"""Alert rules kept in the database, silences, notification channels, and the history of each alert.

Imported by ``monitoring.models``; the alert itself is ``monitoring.models.Alert``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

SEVERITIES = [("info", "Info"), ("warning", "Warning"), ("critical", "Critical")]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

# Multi-window, multi-burn-rate alerting (the SRE Workbook): (long window, short window, burn rate), seconds.
BURN_WINDOWS = {
    "page": [(3600, 300, 14.4), (6 * 3600, 1800, 6.0)],
    "ticket": [(3 * 86400, 6 * 3600, 1.0)],
}


class NotificationChannel(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook (Slack-compatible JSON)"
        LINE = "line", "LINE push to operators who opted in"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Comma-separated addresses for e-mail, the URL for a webhook; unused for LINE.
    target = models.CharField(max_length=1000, blank=True)
    min_severity = models.CharField(max_length=16, choices=SEVERITIES, default="warning")
    # Also gets alerts raised by code (sign-in detection and the like) rather than by a rule.
    for_unruled_alerts = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self):
        if self.kind == self.Kind.WEBHOOK and not self.target.startswith(("http://", "https://")):
            raise ValidationError({"target": "a webhook channel needs an http(s) URL"})
        if self.kind == self.Kind.EMAIL and "@" not in self.target:
            raise ValidationError({"target": "an e-mail channel needs at least one address"})

    def accepts(self, severity: str) -> bool:
        return self.enabled and SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(self.min_severity, 0)


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Threshold on a metric over a window"
        RATE = "rate", "Rate of change (per minute) over a window"
        PREDICTIVE = "predictive", "Predictive: trend crosses the threshold within the horizon"
        BURN_RATE = "burn_rate", "SLO burn rate (multi-window)"

    class Aggregation(models.TextChoices):
        AVG = "avg", "Average"
        MAX = "max", "Maximum"
        MIN = "min", "Minimum"
        LAST = "last", "Latest"
        INCREASE = "increase", "Increase of a counter"

    class Comparison(models.TextChoices):
        ABOVE = "gt", "above"
        BELOW = "lt", "below"

    class Method(models.TextChoices):
        LINEAR = "linear", "Linear least squares"
        HOLT = "holt", "Holt (double exponential smoothing)"

    class BurnPolicy(models.TextChoices):
        PAGE = "page", "Page: 14.4x over 1 h and 5 min, or 6x over 6 h and 30 min"
        TICKET = "ticket", "Ticket: 1x over 3 d and 6 h"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.THRESHOLD)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=16, choices=SEVERITIES, default="warning")
    # The series (monitoring.series) the rule reads; burn-rate rules read their objective's.
    series = models.CharField(max_length=200, blank=True)
    aggregation = models.CharField(max_length=16, choices=Aggregation.choices, default=Aggregation.AVG)
    comparison = models.CharField(max_length=4, choices=Comparison.choices, default=Comparison.ABOVE)
    threshold = models.FloatField(null=True, blank=True)
    # When set, the threshold is this series' latest value (the memory monitor's 70% and 90%), else ``threshold``.
    threshold_series = models.CharField(max_length=200, blank=True)
    window_seconds = models.PositiveIntegerField(default=300)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.LINEAR)
    horizon_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Predictive rules: look ahead to the end of this calendar month instead of a fixed horizon.
    horizon_end_of_month = models.BooleanField(default=False)
    slo = models.ForeignKey(
        "monitoring.ServiceLevelObjective", null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    burn_policy = models.CharField(max_length=8, choices=BurnPolicy.choices, default=BurnPolicy.PAGE)
    # How long the condition must hold before the alert fires.
    pending_seconds = models.PositiveIntegerField(default=0)
    # Alerts of one group that fire in the same evaluation go out as one notification.
    group = models.CharField(max_length=100, blank=True)
    channels = models.ManyToManyField(NotificationChannel, blank=True, related_name="rules")
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.kind == self.Kind.BURN_RATE:
            if self.slo_id is None:
                errors["slo"] = "a burn-rate rule needs a service level objective"
        else:
            if not self.series:
                errors["series"] = "this kind of rule reads a series"
            if self.threshold is None:
                errors["threshold"] = "this kind of rule needs a threshold"
            if self.window_seconds < 60:
                errors["window_seconds"] = "samples are taken once a minute: use a window of at least 60 seconds"
        if self.kind == self.Kind.PREDICTIVE and not (self.horizon_seconds or self.horizon_end_of_month):
            errors["horizon_seconds"] = "a predictive rule needs a horizon (or the end of the month)"
        if errors:
            raise ValidationError(errors)

    @property
    def burn_windows(self) -> list[tuple[int, int, float]]:
        return BURN_WINDOWS[self.burn_policy]


class Silence(models.Model):
    """Mutes notifications of matching alerts until ``ends_at``; alerts still fire and show."""

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="silences")
    group = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=64, blank=True, help_text="The kind of alert, e.g. login_failure_burst_global")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-ends_at", "-id"]

    def __str__(self):
        target = self.rule or self.group or self.kind
        return f"silence of {target} until {self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self):
        if not (self.rule_id or self.group or self.kind):
            raise ValidationError("a silence matches a rule, a group or a kind of alert")
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "a silence ends after it starts"})

    def matches(self, alert) -> bool:
        return (
            (self.rule_id is None or self.rule_id == alert.rule_id)
            and (not self.group or self.group == alert.group)
            and (not self.kind or self.kind == alert.kind)
        )


class AlertEvent(models.Model):
    """The history of an alert: every change of state, operator action and notification."""

    class Kind(models.TextChoices):
        PENDING = "pending", "Condition met, pending"
        FIRED = "fired", "Fired"
        CLEARED = "cleared", "Cleared before firing"
        RESOLVED = "resolved", "Resolved"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        SILENCED = "silenced", "Notification silenced"
        NOTIFIED = "notified", "Notified"
        NOTIFICATION_FAILED = "notification_failed", "Notification failed"

    alert = models.ForeignKey("monitoring.Alert", on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}"


class Notification(models.Model):
    """One message to one channel about one or more alerts of a group; sent by a Celery task."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed after every retry"

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="notifications")
    alerts = models.ManyToManyField("monitoring.Alert", related_name="notifications")
    # "firing" or "resolved"
    status = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.status} to {self.channel} ({self.state})"


class OperatorLineOptIn(models.Model):
    """A staff user who asked to get alerts pushed to their own LINE account."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_line_opt_in")
    line_user_id = models.CharField(max_length=64)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "operator LINE opt-in"

    def __str__(self):
        return f"{self.user} -> {self.line_user_id}"

    def clean(self):
        if not (self.line_user_id.startswith("U") and len(self.line_user_id) == 33):
            raise ValidationError({"line_user_id": "a LINE user id is U followed by 32 hexadecimal digits"})
