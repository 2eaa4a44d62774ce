"""LINE Insight snapshots in the ops console: read-only, for analysts, in columns that fit 1366 px.

Figures of messages that LINE withholds show as "hidden"; a dash in the daily counts is a day LINE has not
calculated yet (status "unready"), or a way of sending not used that day. Times are UTC, days LINE's (UTC+9).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from analytics.insight_models import (
    DELIVERY_FIELDS,
    DeliverySnapshot,
    DemographicSnapshot,
    FollowerSnapshot,
    MessageEventSnapshot,
    TrackedRequest,
    TrackedUnit,
    UnitSnapshot,
)
from core.readonly_admin import ReadOnlyAdmin

HIDDEN = "hidden"


def _moment(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


def _day(value) -> str:
    return f"{value:%Y-%m-%d}"


class InsightAdmin(ReadOnlyAdmin):
    @admin.display(description="fetched (UTC)", ordering="fetched_at")
    def fetched(self, obj):
        return _moment(obj.fetched_at)


class DailyAdmin(InsightAdmin):
    list_filter = ["status"]
    date_hierarchy = "date"

    @admin.display(description="LINE day", ordering="date")
    def day(self, obj):
        return _day(obj.date)


@admin.register(FollowerSnapshot)
class FollowerSnapshotAdmin(DailyAdmin):
    list_display = ["day", "status", "followers", "targeted_reaches", "blocks", "fetched", "fetch_count"]


@admin.register(DeliverySnapshot)
class DeliverySnapshotAdmin(DailyAdmin):
    list_display = ["day", "status", "api_messages", "by_way", "fetched"]

    @admin.display(description="sent through the API")
    def api_messages(self, obj):
        counts = [obj.api_broadcast, obj.api_narrowcast, obj.api_multicast, obj.api_push, obj.api_reply]
        return sum(count or 0 for count in counts) if obj.final else "-"

    @admin.display(description="by way of sending")
    def by_way(self, obj):
        parts = [(key, getattr(obj, name)) for key, name in DELIVERY_FIELDS.items()]
        return " · ".join(f"{key} {count:,}" for key, count in parts if count) or "-"


@admin.register(DemographicSnapshot)
class DemographicSnapshotAdmin(InsightAdmin):
    list_display = ["day", "available", "fetched"]
    date_hierarchy = "date"

    @admin.display(description="LINE day", ordering="date")
    def day(self, obj):
        return _day(obj.date)


def _figure(value) -> str:
    return HIDDEN if value is None else f"{value:,}"


def _lines(rows: list[str]):
    return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows)) if rows else "none"


_FIGURE_FIELDS = ["unique_impression", "unique_click", "unique_media_played", "unique_media_played_100"]
_SNAPSHOT_FIELDS = ["bubbles", "links", "fetched_at", "fetch_count", "final"]


class MessageFiguresAdmin(InsightAdmin):
    # A NULL figure of a message means LINE withheld it (fewer than 20 users): say so rather than show a dash.
    empty_value_display = HIDDEN
    list_filter = ["final"]

    @admin.display(description="per message")
    def bubbles(self, obj):
        rows = []
        for entry in obj.messages:
            played = [
                f"{key} {_figure(entry.get(key))}" for key in ("mediaPlayed", "mediaPlayed100Percent") if key in entry
            ]
            rows.append(" · ".join([f"message {entry.get('seq')}: shown {_figure(entry.get('impression'))}", *played]))
        return _lines(rows)

    @admin.display(description="per link")
    def links(self, obj):
        return _lines(
            [
                f"message {entry.get('seq')}: {entry.get('url')} · opened {_figure(entry.get('click'))} times by "
                f"{_figure(entry.get('uniqueClick'))} users ({_figure(entry.get('uniqueClickOfRequest'))} through "
                "any link to it)"
                for entry in obj.clicks
            ]
        )

    @admin.display(description="opened by", ordering="unique_impression")
    def opened_by(self, obj):
        return obj.unique_impression

    @admin.display(description="clicked by", ordering="unique_click")
    def clicked_by(self, obj):
        return obj.unique_click


@admin.register(MessageEventSnapshot)
class MessageEventSnapshotAdmin(MessageFiguresAdmin):
    list_display = ["request_id_shown", "campaign", "day", "delivered", "opened_by", "clicked_by", "final", "fetched"]
    list_filter = ["final", "request__kind"]
    list_select_related = ["request"]
    search_fields = ["request__request_id", "=request__campaign_id"]
    date_hierarchy = "date"
    fields = readonly_fields = ["request", "date", "delivered", *_FIGURE_FIELDS, *_SNAPSHOT_FIELDS]

    @admin.display(description="request id", ordering="request__request_id")
    def request_id_shown(self, obj):
        return obj.request.request_id

    @admin.display(description="campaign", ordering="request__campaign_id", empty_value="-")
    def campaign(self, obj):
        return obj.request.campaign_id

    @admin.display(description="LINE day sent", ordering="date")
    def day(self, obj):
        return _day(obj.date)


@admin.register(UnitSnapshot)
class UnitSnapshotAdmin(MessageFiguresAdmin):
    list_display = ["unit_name", "campaign", "period", "opened_by", "clicked_by", "final", "fetched"]
    list_select_related = ["unit"]
    search_fields = ["unit__unit", "=unit__campaign_id"]
    fields = readonly_fields = ["unit", "date_from", "date_to", *_FIGURE_FIELDS, *_SNAPSHOT_FIELDS]

    @admin.display(description="unit", ordering="unit__unit")
    def unit_name(self, obj):
        return obj.unit.unit

    @admin.display(description="campaign", ordering="unit__campaign_id", empty_value="-")
    def campaign(self, obj):
        return obj.unit.campaign_id

    @admin.display(description="LINE days", ordering="date_from")
    def period(self, obj):
        return f"{_day(obj.date_from)} to {_day(obj.date_to)}"


class TrackedAdmin(ReadOnlyAdmin):
    list_filter = [("finished_at", admin.EmptyFieldListFilter)]

    @admin.display(description="last try (UTC)", ordering="last_attempt_at")
    def last_try(self, obj):
        return _moment(obj.last_attempt_at)

    @admin.display(description="followed", ordering="finished_at")
    def followed(self, obj):
        return f"until {_moment(obj.finished_at)}" if obj.finished_at else "now"

    @admin.display(description="last error")
    def error(self, obj):
        return Truncator(obj.last_error).chars(60) or "-"


@admin.register(TrackedRequest)
class TrackedRequestAdmin(TrackedAdmin):
    list_display = ["request_id", "kind", "campaign_id", "sent", "last_try", "followed", "error"]
    list_filter = ["kind", ("finished_at", admin.EmptyFieldListFilter)]
    search_fields = ["request_id", "=campaign_id"]

    @admin.display(description="sent (UTC)", ordering="sent_at")
    def sent(self, obj):
        return _moment(obj.sent_at)


@admin.register(TrackedUnit)
class TrackedUnitAdmin(TrackedAdmin):
    list_display = ["unit", "campaign_id", "sends", "last_try", "followed", "error"]
    search_fields = ["unit", "=campaign_id"]

    @admin.display(description="sent (UTC)", ordering="first_sent")
    def sends(self, obj):
        if obj.first_sent == obj.last_sent:
            return _moment(obj.first_sent)
        return f"{_moment(obj.first_sent)} to {_moment(obj.last_sent)}"
