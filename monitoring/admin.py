from urllib.parse import urlencode

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.processes import KINDS
from core.readonly_admin import ReadOnlyAdmin
from monitoring import alert_admin  # noqa: F401 - registers the alerting pages
from monitoring.models import ErrorKind


def _compact(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def events_url(correlation_id: str) -> str | None:
    """The webhook events in the conversations admin that carry this correlation id."""
    try:
        changelist = reverse("admin:conversations_webhookevent_changelist")
    except NoReverseMatch:
        return None
    return f"{changelist}?{urlencode({'q': correlation_id})}"


class ProcessKindFilter(admin.SimpleListFilter):
    title = "process"
    parameter_name = "process"

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in KINDS]

    def queryset(self, request, queryset):
        if self.value() in KINDS:
            # A text match on the JSON list works on every database, PostgreSQL and SQLite alike.
            return queryset.filter(process_kinds__icontains=f'"{self.value()}"')
        return queryset


@admin.register(ErrorKind)
class ErrorKindAdmin(ReadOnlyAdmin):
    """The errors page: exceptions of every process grouped by fingerprint, latest first."""

    # The columns that tell most come first: the location can be long.
    list_display = ["exception_type", "count", "last_seen_at", "first_seen_at", "processes", "events", "location"]
    list_filter = [ProcessKindFilter, ("last_seen", admin.DateFieldListFilter)]
    search_fields = ["exception_type", "location", "message", "fingerprint", "correlation_ids"]
    ordering = ["-last_seen", "-id"]
    fields = [
        "exception_type",
        "location",
        "message",
        "count",
        "first_seen",
        "last_seen",
        "processes",
        "broken_events",
        "fingerprint",
        "formatted_traceback",
    ]
    readonly_fields = ["processes", "broken_events", "formatted_traceback"]

    @admin.display(description="last seen", ordering="last_seen")
    def last_seen_at(self, obj):
        return _compact(obj.last_seen)

    @admin.display(description="first seen", ordering="first_seen")
    def first_seen_at(self, obj):
        return _compact(obj.first_seen)

    @admin.display(description="processes")
    def processes(self, obj):
        return ", ".join(obj.process_kinds)

    @admin.display(description="events")
    def events(self, obj):
        url = events_url(obj.correlation_ids[0]) if obj.correlation_ids else None
        return format_html('<a href="{}">latest</a>', url) if url else "-"

    @admin.display(description=f"events it broke (last {ErrorKind.RECENT_CORRELATION_IDS} correlation ids)")
    def broken_events(self, obj):
        links = [(url, cid) for cid in obj.correlation_ids if (url := events_url(cid))]
        if not links:
            return "-"
        return format_html_join("", '<a href="{}">{}</a><br>', links)

    @admin.display(description="traceback (a recent one)")
    def formatted_traceback(self, obj):
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "-"
