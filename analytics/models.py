"""Engagement events: an append-only record of what LINE users did and what we delivered to them.

Rows are written through :func:`analytics.services.event_record` only and never updated;
reports read rollups computed from them, not the raw rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    pass


class Event(models.Model):
    class Type(models.TextChoices):
        MESSAGE = "message", "Message"
        FOLLOW = "follow", "Follow"
        UNFOLLOW = "unfollow", "Unfollow (block)"
        POSTBACK = "postback", "Postback tap"
        RICHMENU_TAP = "richmenu_tap", "Rich-menu tap"
        LINK_CLICK = "link_click", "Link click"
        DELIVERED = "delivered", "Delivered"

    occurred_at = models.DateTimeField(default=timezone.now)
    type = models.CharField(max_length=16, choices=Type.choices)
    # The LINE user; NULL once the user's data was erased (the row then only counts in aggregates).
    line_user = models.ForeignKey(
        "conversations.LineUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where known: what the event is about. The campaign is an id so that campaigns can live anywhere.
    campaign_id = models.BigIntegerField(null=True, blank=True)
    variant = models.CharField(max_length=32, blank=True)
    rich_message = models.ForeignKey(
        "richmessages.RichMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template_version = models.ForeignKey(
        "richmessages.RichTemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The postback button or rich-menu area tapped.
    button = models.CharField(max_length=32, blank=True)
    props = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["campaign_id", "type", "occurred_at"], name="analytics_event_campaign"),
            models.Index(fields=["line_user", "occurred_at"], name="analytics_event_user"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("events are append-only")
        super().save(*args, **kwargs)


# LINE Insight snapshots live in their own module; imported here so Django finds the models.
from analytics.insight_models import (  # noqa: E402, F401
    DeliverySnapshot,
    DemographicSnapshot,
    FollowerSnapshot,
    MessageEventSnapshot,
    TrackedRequest,
    TrackedUnit,
    UnitSnapshot,
)

# Keys of rows imported from the upstream bot (import_legacy_analytics).
from analytics.legacy_models import LegacyImport  # noqa: E402, F401
