"""LINE Insight snapshots in the ops console: read-only, for analysts.

Figures of messages that LINE withholds show as "hidden"; a dash in the daily counts is a day LINE has not
calculated yet (status "unready"), or a way of sending not used that day.
"""

from __future__ import annotations

from django.contrib import admin

from analytics.insight_models import (
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


class HiddenFiguresAdmin(ReadOnlyAdmin):
    # A NULL figure of a message means LINE withheld it (fewer than 20 users): say so rather than show a dash.
    empty_value_display = HIDDEN


@admin.register(FollowerSnapshot)
class FollowerSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["date", "status", "followers", "targeted_reaches", "blocks", "fetched_at", "fetch_count"]
    list_filter = ["status"]
    date_hierarchy = "date"


@admin.register(DeliverySnapshot)
class DeliverySnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "date",
        "status",
        "api_broadcast",
        "api_narrowcast",
        "api_multicast",
        "api_push",
        "api_reply",
        "broadcast",
        "targeting",
        "fetched_at",
    ]
    list_filter = ["status"]
    date_hierarchy = "date"


@admin.register(DemographicSnapshot)
class DemographicSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["date", "available", "fetched_at"]
    date_hierarchy = "date"


@admin.register(MessageEventSnapshot)
class MessageEventSnapshotAdmin(HiddenFiguresAdmin):
    list_display = [
        "request_id_shown",
        "kind",
        "campaign",
        "date",
        "delivered",
        "unique_impression",
        "unique_click",
        "unique_media_played",
        "final",
        "fetched_at",
    ]
    list_filter = ["final", "request__kind"]
    list_select_related = ["request"]
    search_fields = ["request__request_id", "=request__campaign_id"]
    date_hierarchy = "date"

    @admin.display(description="request id", ordering="request__request_id")
    def request_id_shown(self, obj):
        return obj.request.request_id

    @admin.display(description="kind", ordering="request__kind")
    def kind(self, obj):
        return obj.request.get_kind_display()

    @admin.display(description="campaign", ordering="request__campaign_id")
    def campaign(self, obj):
        return obj.request.campaign_id


@admin.register(UnitSnapshot)
class UnitSnapshotAdmin(HiddenFiguresAdmin):
    list_display = [
        "unit_name",
        "campaign",
        "date_from",
        "date_to",
        "unique_impression",
        "unique_click",
        "unique_media_played",
        "final",
        "fetched_at",
    ]
    list_filter = ["final"]
    list_select_related = ["unit"]
    search_fields = ["unit__unit", "=unit__campaign_id"]

    @admin.display(description="unit", ordering="unit__unit")
    def unit_name(self, obj):
        return obj.unit.unit

    @admin.display(description="campaign", ordering="unit__campaign_id")
    def campaign(self, obj):
        return obj.unit.campaign_id


@admin.register(TrackedRequest)
class TrackedRequestAdmin(ReadOnlyAdmin):
    list_display = ["request_id", "kind", "campaign_id", "sent_at", "last_attempt_at", "finished_at", "last_error"]
    list_filter = ["kind", ("finished_at", admin.EmptyFieldListFilter)]
    search_fields = ["request_id", "=campaign_id"]


@admin.register(TrackedUnit)
class TrackedUnitAdmin(ReadOnlyAdmin):
    list_display = ["unit", "campaign_id", "first_sent", "last_sent", "last_attempt_at", "finished_at", "last_error"]
    list_filter = [("finished_at", admin.EmptyFieldListFilter)]
    search_fields = ["unit", "=campaign_id"]
