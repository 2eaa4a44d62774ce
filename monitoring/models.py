from django.conf import settings
from django.db import models
from django.utils import timezone


class Alert(models.Model):
    """Something an operator should look at. Notification channels pick these up."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=64, db_index=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    message = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    OPEN = (State.PENDING, State.FIRING)

    # Raised by a rule (monitoring.alert_services) or by code (alert_raise: firing at once, no rule).
    rule = models.ForeignKey("monitoring.AlertRule", null=True, blank=True, on_delete=models.SET_NULL)
    # One open alert per fingerprint: a condition that goes on is one alert, not one per evaluation.
    fingerprint = models.CharField(max_length=200, blank=True)
    group = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.FIRING, db_index=True)
    value = models.FloatField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(state__in=["pending", "firing"]) & ~models.Q(fingerprint=""),
                name="alert_one_open_per_fingerprint",
            )
        ]
        # Who may open each live dashboard (monitoring.dashboards); accounts/roles.py grants them per role.
        permissions = [
            ("view_operations_dashboard", "Can view the operations dashboard"),
            ("view_campaigns_dashboard", "Can view the campaigns dashboard"),
            ("view_analytics_dashboard", "Can view the analytics dashboard"),
            # The database's top queries (pg_stat_statements): Operators and Administrators.
            ("view_query_statistics", "Can view the database's top queries"),
        ]

    def __str__(self):
        return f"[{self.severity}] {self.kind}: {self.message}"


class ErrorKind(models.Model):
    """One kind of exception, grouped by fingerprint (see monitoring/fingerprints.py) across every process.

    Written only through ``monitoring.services.error_kind_record``, which adds to the count.
    """

    RECENT_CORRELATION_IDS = 10

    fingerprint = models.CharField(max_length=64, unique=True)
    exception_type = models.CharField(max_length=255)
    location = models.CharField(max_length=1000, blank=True)
    # The message of the latest occurrence, the traceback of a recent one.
    message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    count = models.BigIntegerField(default=0)
    first_seen = models.DateTimeField(db_index=True)
    last_seen = models.DateTimeField(db_index=True)
    # Kinds of process that raised it (web, daphne, worker, beat, other), sorted.
    process_kinds = models.JSONField(default=list, blank=True)
    # Newest first, at most RECENT_CORRELATION_IDS.
    correlation_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        verbose_name = "error"
        verbose_name_plural = "errors"

    def __str__(self):
        return f"{self.exception_type} at {self.location or 'unknown location'}"


# The models of alert rules and SLOs live in their own modules; Django finds them through this one.
from monitoring.alert_models import (  # noqa: E402
    AlertEvent,
    AlertRule,
    Notification,
    NotificationChannel,
    OperatorLineOptIn,
    Silence,
)
from monitoring.slo_models import ComplianceReport, MetricSample, ServiceLevelObjective  # noqa: E402

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertRule",
    "ComplianceReport",
    "ErrorKind",
    "MetricSample",
    "Notification",
    "NotificationChannel",
    "OperatorLineOptIn",
    "ServiceLevelObjective",
    "Silence",
]
