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

    class Meta:
        ordering = ["-created_at", "-id"]
        # Who may open each live dashboard (monitoring.dashboards); accounts/roles.py grants them per role.
        permissions = [
            ("view_operations_dashboard", "Can view the operations dashboard"),
            ("view_campaigns_dashboard", "Can view the campaigns dashboard"),
            ("view_analytics_dashboard", "Can view the analytics dashboard"),
        ]

    def __str__(self):
        return f"[{self.severity}] {self.kind}: {self.message}"
