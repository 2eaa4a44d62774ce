"""The ops console's pages of alerting: alerts with their history, rules, silences, channels, LINE opt-ins,
objectives with the SLO page, and the monthly compliance reports.

Changes made here are audited by the admin site (accounts/admin_audit.py); acknowledging, resolving and
expiring go through ``monitoring.alert_services``, which audits them too.
"""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import roles
from monitoring import alert_services
from monitoring.models import (
    Alert,
    AlertEvent,
    AlertRule,
    ComplianceReport,
    Notification,
    NotificationChannel,
    OperatorLineOptIn,
    ServiceLevelObjective,
    Silence,
)
from monitoring.selectors import series_names


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    fields = ["at", "kind", "message", "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    # Times of firing and resolving are on each alert's page: the list stays readable at 1366 px.
    list_display = ["created_at", "state", "severity", "kind", "message", "acknowledged_at"]
    list_filter = ["state", "severity", "kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "kind", "group"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "state",
        "kind",
        "group",
        "severity",
        "message",
        "value",
        "rule",
        "details",
        "fired_at",
        "resolved_at",
        "resolved_by",
        "acknowledged_at",
        "acknowledged_by",
    ]
    exclude = ["fingerprint"]
    inlines = [AlertEventInline]
    actions = ["acknowledge", "resolve"]

    class Media:
        css = {"all": ["monitoring/alerts.css"]}

    def has_add_permission(self, request):
        return False

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request, queryset):
        alerts = [a for a in queryset if a.acknowledged_at is None and a.state != Alert.State.RESOLVED]
        for alert in alerts:
            alert_services.alert_acknowledge(alert=alert, actor=request.user, request=request)
        self.message_user(request, f"{len(alerts)} alert(s) acknowledged.")

    @admin.action(description="Resolve selected alerts", permissions=["change"])
    def resolve(self, request, queryset):
        alerts = [a for a in queryset if a.state != Alert.State.RESOLVED]
        for alert in alerts:
            alert_services.alert_resolve(alert=alert, actor=request.user, request=request)
        self.message_user(request, f"{len(alerts)} alert(s) resolved.")


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "severity", "enabled", "series", "threshold", "last_value", "last_evaluated_at"]
    list_filter = ["kind", "severity", "enabled", "group"]
    search_fields = ["name", "series", "description"]
    filter_horizontal = ["channels"]
    readonly_fields = ["last_value", "last_evaluated_at", "known_series"]
    fieldsets = [
        (None, {"fields": ["name", "description", "kind", "enabled", "severity", "group", "channels"]}),
        ("What it reads", {"fields": ["series", "known_series", "aggregation", "window_seconds"]}),
        ("Condition", {"fields": ["comparison", "threshold", "threshold_series", "pending_seconds"]}),
        ("Predictive rules", {"fields": ["method", "horizon_seconds", "horizon_end_of_month"]}),
        ("Burn-rate rules", {"fields": ["slo", "burn_policy"]}),
        ("Latest evaluation", {"fields": ["last_value", "last_evaluated_at"]}),
    ]

    @admin.display(description="series sampled in the last 10 minutes")
    def known_series(self, obj):
        names = series_names()
        return format_html("<details><summary>{} series</summary><pre>{}</pre></details>", len(names), "\n".join(names))


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "rule", "group", "kind", "starts_at", "ends_at", "active", "created_by", "comment"]
    list_filter = ["rule"]
    readonly_fields = ["created_by", "created_at"]
    actions = ["expire"]

    @admin.display(boolean=True)
    def active(self, obj):
        return obj.starts_at <= timezone.now() < obj.ends_at

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Expire selected silences now", permissions=["change"])
    def expire(self, request, queryset):
        for silence in queryset:
            alert_services.silence_expire(silence=silence, actor=request.user, request=request)
        self.message_user(request, "Silences expired.")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "target", "min_severity", "for_unruled_alerts", "enabled"]
    list_filter = ["kind", "enabled"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "status", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state", "status", "channel"]
    readonly_fields = ["created_at", "channel", "alerts", "status", "state", "attempts", "sent_at", "last_error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OperatorLineOptIn)
class OperatorLineOptInAdmin(admin.ModelAdmin):
    """Staff opt themselves in; only an Administrator sets another user's LINE id (alerts go to that account)."""

    list_display = ["user", "line_user_id", "enabled", "created_at"]
    list_filter = ["enabled"]
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if roles.is_administrator(request.user) else queryset.filter(user=request.user)

    def get_readonly_fields(self, request, obj=None):
        return [] if roles.is_administrator(request.user) else ["user"]

    def save_model(self, request, obj, form, change):
        if not roles.is_administrator(request.user):
            obj.user = request.user
        super().save_model(request, obj, form, change)


@admin.register(ServiceLevelObjective)
class ServiceLevelObjectiveAdmin(admin.ModelAdmin):
    list_display = ["name", "indicator", "objective", "window_days", "enabled"]
    list_filter = ["indicator", "enabled"]
    change_list_template = "monitoring/slo_changelist.html"

    def get_urls(self):
        page = self.admin_site.admin_view(self.status_view)
        return [path("status/", page, name="monitoring_slo_status"), *super().get_urls()]

    def status_view(self, request):
        from django.core.exceptions import PermissionDenied

        from monitoring.slo import current_statuses

        if not self.has_view_permission(request):
            raise PermissionDenied
        statuses = current_statuses()
        charts = {
            f"slo-{s.slo.pk}": {"t": [t for t, _ in s.burn_down], "v": [round(v * 100, 3) for _, v in s.burn_down]}
            for s in statuses
        }
        context = {
            **self.admin_site.each_context(request),
            "title": "Service level objectives",
            "statuses": statuses,
            "charts": charts,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "monitoring/slo_status.html", context)


@admin.register(ComplianceReport)
class ComplianceReportAdmin(admin.ModelAdmin):
    list_display = ["month", "generated_at", "html_link", "pdf_link"]
    readonly_fields = ["month", "generated_at", "html", "pdf", "summary"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        page = self.admin_site.admin_view(self.file_view)
        return [path("<int:pk>/file/<str:kind>/", page, name="monitoring_report_file"), *super().get_urls()]

    def file_view(self, request, pk: int, kind: str):
        """The stored file, through the console (media files are not served to the public)."""
        from django.core.exceptions import PermissionDenied
        from django.http import FileResponse, Http404

        if not self.has_view_permission(request):
            raise PermissionDenied
        report = ComplianceReport.objects.filter(pk=pk).first()
        file = getattr(report, kind, None) if kind in ("html", "pdf") and report else None
        if not file:
            raise Http404("No such report file.")
        content_type = "application/pdf" if kind == "pdf" else "text/html; charset=utf-8"
        return FileResponse(
            file.open("rb"),
            content_type=content_type,
            as_attachment=kind == "pdf",
            filename=file.name.rsplit("/", 1)[-1],
        )

    def _link(self, obj, kind: str):
        if not getattr(obj, kind):
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:monitoring_report_file", args=[obj.pk, kind]), kind.upper()
        )

    @admin.display(description="HTML")
    def html_link(self, obj):
        return self._link(obj, "html")

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        return self._link(obj, "pdf")
