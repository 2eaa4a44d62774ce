"""A minimal, read-only view of campaigns in the ops console: status, progress counts and sends.

Writes go through the services (the API today; the campaign pages of the console build on the same
services), so nothing here edits a campaign by hand and bypasses four eyes or the audit log.
"""

from __future__ import annotations

from django.contrib import admin

from core.readonly_admin import ReadOnlyAdmin, ReadOnlyInline
from richmessages.campaigns import selectors
from richmessages.campaigns.models import Campaign, CampaignSend


class CampaignSendInline(ReadOnlyInline):
    model = CampaignSend
    fields = ("due_at", "kind", "status", "method", "recipients", "sent", "failed", "skipped", "held", "error")
    readonly_fields = fields
    ordering = ("-due_at",)


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "author", "approved_by", "send_at", "progress", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = (
        "name",
        "status",
        "rich_message",
        "audience",
        "audience_report",
        "holdout_percent",
        "send_at",
        "recurrence",
        "timezone",
        "local_time",
        "step_days",
        "frequency_cap_day",
        "frequency_cap_week",
        "cooldown",
        "quiet_hours_start",
        "quiet_hours_end",
        "author",
        "approved_by",
        "approved_at",
        "review_comment",
        "failure_reason",
        "progress",
        "estimate",
    )
    fields = readonly_fields
    inlines = [CampaignSendInline]

    @admin.display(description="Progress (recipients / sent / failed / skipped / held)")
    def progress(self, campaign: Campaign) -> str:
        counts = selectors.campaign_counts(campaign)
        return " / ".join(str(counts[name]) for name in selectors.COUNTERS)

    @admin.display(description="Recipients before sending")
    def estimate(self, campaign: Campaign) -> str:
        estimate = selectors.recipient_estimate(campaign)
        if estimate["recipients"] is None:
            return "chosen by LINE (narrowcast)"
        return (
            f"{estimate['recipients']} of {estimate['audience']} "
            f"({estimate['unfollowed']} unfollowed, {estimate['opted_out']} opted out, {estimate['holdout']} holdout)"
        )
