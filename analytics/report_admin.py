"""Analytics in the ops console, read-only: the daily rollups as a table, and per campaign or template the same
measures as the API (each rate with its denominator) as tables and a chart (uPlot, loaded from static files: no
inline script). Whoever may view analytics (Analysts, Operators, Administrators) sees them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from datetime import time as dtime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from analytics import measures, rollups, subjects
from analytics.models import DailyRollup, Event, TrackedLink
from core.readonly_admin import ReadOnlyAdmin

VIEW_PERMISSION = "analytics.view_dailyrollup"
T = Event.Type


def chart_series(rows) -> dict[str, list]:
    """Per day: delivered, unique tappers (first tap), unique link clickers and blocks within 24 h."""
    days: dict = defaultdict(lambda: {"delivered": 0, "tappers": 0, "clickers": 0, "blocked": 0})
    for row in rows.values("day", "type", "button", "events", "new_users", "blocked_24h"):
        day = days[row["day"]]
        if row["type"] == T.DELIVERED:
            day["delivered"] += row["events"]
            day["blocked"] += row["blocked_24h"]
        elif row["button"] == DailyRollup.ALL_BUTTONS and row["type"] == T.POSTBACK:
            day["tappers"] += row["new_users"]
        elif row["button"] == DailyRollup.ALL_BUTTONS and row["type"] == T.LINK_CLICK:
            day["clickers"] += row["new_users"]
    ordered = sorted(days)
    zone = rollups.report_zone()
    return {
        "x": [int(datetime.combine(day, dtime.min, zone).timestamp()) for day in ordered],
        "labels": [day.isoformat() for day in ordered],
        **{name: [days[day][name] for day in ordered] for name in ("delivered", "tappers", "clickers", "blocked")},
    }


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "type",
        "campaign",
        "variant",
        "template_version_id",
        "button",
        "events",
        "users",
        "new_users",
        "engaged_24h",
        "blocked_24h",
    ]
    list_filter = ["type", "day"]
    date_hierarchy = "day"
    search_fields = ["=campaign_id", "=template_version_id"]
    show_full_result_count = False

    @admin.display(description="campaign", ordering="campaign_id")
    def campaign(self, obj):
        if not obj.campaign_id:
            return "-"
        url = reverse("admin:analytics_campaign_report", args=[obj.campaign_id])
        return format_html('<a href="{}">{} (report)</a>', url, obj.campaign_id)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("campaign/<int:campaign_id>/", view(self.campaign_report), name="analytics_campaign_report"),
            path("template/<int:template_id>/", view(self.template_report), name="analytics_template_report"),
            *super().get_urls(),
        ]

    def _page(self, request, *, title: str, report: dict, rows):
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "report": report,
            "chart": chart_series(rows),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "analytics/report.html", context)

    def campaign_report(self, request, campaign_id: int):
        subject = subjects.campaign(campaign_id)
        if subject is None:
            raise Http404("No such campaign.")
        report = measures.campaign_report(campaign_id, subject)
        rows = measures.daily_rows(campaign_id=campaign_id)
        return self._page(request, title=f"Campaign {subject['name']}: analytics", report=report, rows=rows)

    def template_report(self, request, template_id: int):
        subject = subjects.template(template_id)
        if subject is None:
            raise Http404("No such template.")
        report = measures.template_report(subject)
        rows = measures.daily_rows(version_ids=subject["version_ids"])
        return self._page(request, title=f"Template {subject['name']}: analytics", report=report, rows=rows)


@admin.register(TrackedLink)
class TrackedLinkAdmin(ReadOnlyAdmin):
    list_display = ["code", "target_url", "campaign_id", "rich_message", "created_at"]
    search_fields = ["code", "target_url"]
