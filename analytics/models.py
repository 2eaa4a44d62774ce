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
        # Left out of a campaign on purpose (its holdout group): the baseline of the variants' lift.
        HOLDOUT = "holdout", "Held out"

    occurred_at = models.DateTimeField(default=timezone.now)
    type = models.CharField(max_length=16, choices=Type.choices)
    # The LINE user; NULL once the user's data was erased (the row then only counts in aggregates).
    # The references of this append-only log are kept by the ORM (on_delete sets them NULL), not by database
    # constraints: a constraint costs a look-up of the referenced row per reference of every event inserted,
    # at commit, which was a third of PostgreSQL's time for a campaign's DELIVERED events (docs/PERFORMANCE.md).
    # Its look-ups use the index on (line_user, occurred_at), so it has no index of its own to keep up.
    line_user = models.ForeignKey(
        "conversations.LineUser",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # Where known: what the event is about. The campaign is an id so that campaigns can live anywhere.
    campaign_id = models.BigIntegerField(null=True, blank=True)
    variant = models.CharField(max_length=32, blank=True)
    rich_message = models.ForeignKey(
        "richmessages.RichMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    template_version = models.ForeignKey(
        "richmessages.RichTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # The postback button or rich-menu area tapped.
    button = models.CharField(max_length=32, blank=True)
    props = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        # A user's message or follow, most of the events, is about no campaign or rich message: the indexes on
        # those hold only the rows that have one (a look-up by any of them, or a deletion's SET NULL, still
        # finds them), so such an event is not paid for in three indexes where it has nothing to find.
        indexes = [
            models.Index(
                fields=["campaign_id", "type", "occurred_at"],
                name="analytics_event_campaign",
                condition=models.Q(campaign_id__isnull=False),
            ),
            models.Index(fields=["line_user", "occurred_at"], name="analytics_event_user"),
            models.Index(
                fields=["rich_message"], name="analytics_event_message", condition=models.Q(rich_message__isnull=False)
            ),
            models.Index(
                fields=["template_version"],
                name="analytics_event_version",
                condition=models.Q(template_version__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("events are append-only")
        super().save(*args, **kwargs)


# What counts as a user engaging: something they did, never something done to them.
ENGAGEMENT_TYPES = (Event.Type.MESSAGE, Event.Type.POSTBACK, Event.Type.RICHMENU_TAP, Event.Type.LINK_CLICK)


class TrackedLink(models.Model):
    """A URL of ours (``/r/<code>``) standing in for ``target_url``: a click is recorded, then redirected."""

    code = models.CharField(max_length=16, unique=True)
    target_url = models.URLField(max_length=2000)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    rich_message = models.ForeignKey(
        "richmessages.RichMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"/r/{self.code} → {self.target_url}"


class DailyRollup(models.Model):
    """Events of one type on one day (``ANALYTICS_TIME_ZONE``) per campaign, variant, template version and button.

    ``campaign_id`` and ``template_version_id`` are 0 and ``variant``/``button`` empty where the events had none;
    ``button`` is ``*`` on the row adding up every button of a key (so unique users are not counted per button
    twice). ``new_users`` counts users whose first event of the key fell on the day: summed over days it gives
    the key's unique users. ``engaged_24h`` and ``blocked_24h`` (delivered and holdout rows) count users who
    engaged, or blocked the account, within 24 hours after the event.
    """

    ALL_BUTTONS = "*"

    day = models.DateField()
    type = models.CharField(max_length=16, choices=Event.Type.choices)
    campaign_id = models.BigIntegerField(default=0)
    variant = models.CharField(max_length=32, blank=True)
    template_version_id = models.BigIntegerField(default=0)
    button = models.CharField(max_length=32, blank=True)
    events = models.BigIntegerField(default=0)
    users = models.BigIntegerField(default=0)
    new_users = models.BigIntegerField(default=0)
    engaged_24h = models.BigIntegerField(default=0)
    blocked_24h = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "campaign_id", "type"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "type", "campaign_id", "variant", "template_version_id", "button"],
                name="analytics_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["campaign_id", "day"], name="analytics_rollup_campaign"),
            models.Index(fields=["template_version_id", "day"], name="analytics_rollup_template"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.type} campaign {self.campaign_id}: {self.events}"


class RollupState(models.Model):
    """How far the incremental rollup has read: the highest event id rolled up (one row)."""

    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"rolled up to event {self.last_event_id}"


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
