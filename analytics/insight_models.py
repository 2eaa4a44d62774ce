"""What LINE's insight endpoints told us, kept as snapshots, and the sends the sync follows.

A snapshot is one row per what (followers, deliveries, demographics, a request id, a unit) and LINE day (UTC+9),
with ``fetched_at``: fetching again updates the row until LINE stops changing it (``final``). A figure LINE
withholds because fewer than 20 users are behind it is NULL, meaning hidden, never zero.
Written by :mod:`analytics.insight_sync` and :mod:`analytics.insight_services` only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import models

from core.line.dates import line_day, line_day_start

# LINE stops updating a message's figures this long after it was sent.
FIGURES_UPDATED_FOR = timedelta(days=14)
# Statistics per unit cover a period of at most this many days after its first day.
UNIT_PERIOD = timedelta(days=30)


class InsightStatus(models.TextChoices):
    READY = "ready", "Ready"
    UNREADY = "unready", "Not calculated yet"
    OUT_OF_SERVICE = "out_of_service", "Before LINE began counting"


class DailySnapshot(models.Model):
    date = models.DateField(unique=True, help_text="LINE's day (UTC+9).")
    status = models.CharField(max_length=16, choices=InsightStatus.choices)
    fetched_at = models.DateTimeField()
    fetch_count = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} ({self.status})"

    @property
    def final(self) -> bool:
        # LINE calculates a day once; until then it answers "unready" and the row is fetched again.
        return self.status != InsightStatus.UNREADY


class FollowerSnapshot(DailySnapshot):
    followers = models.BigIntegerField(null=True, blank=True, help_text="Users who ever added the account.")
    targeted_reaches = models.BigIntegerField(null=True, blank=True, help_text="Friends targeted messages reach.")
    blocks = models.BigIntegerField(null=True, blank=True, help_text="Users blocking the account.")

    class Meta(DailySnapshot.Meta):
        verbose_name = "LINE followers (daily)"
        verbose_name_plural = "LINE followers (daily)"


DELIVERY_FIELDS = {
    "broadcast": "broadcast",
    "targeting": "targeting",
    "autoResponse": "auto_response",
    "welcomeResponse": "welcome_response",
    "chat": "chat",
    "apiBroadcast": "api_broadcast",
    "apiPush": "api_push",
    "apiMulticast": "api_multicast",
    "apiNarrowcast": "api_narrowcast",
    "apiReply": "api_reply",
}


class DeliverySnapshot(DailySnapshot):
    """Messages sent on a day, by how they were sent (LINE leaves out the ways not used)."""

    broadcast = models.BigIntegerField(null=True, blank=True)
    targeting = models.BigIntegerField(null=True, blank=True)
    auto_response = models.BigIntegerField(null=True, blank=True)
    welcome_response = models.BigIntegerField(null=True, blank=True)
    chat = models.BigIntegerField(null=True, blank=True)
    api_broadcast = models.BigIntegerField(null=True, blank=True)
    api_push = models.BigIntegerField(null=True, blank=True)
    api_multicast = models.BigIntegerField(null=True, blank=True)
    api_narrowcast = models.BigIntegerField(null=True, blank=True)
    api_reply = models.BigIntegerField(null=True, blank=True)

    class Meta(DailySnapshot.Meta):
        verbose_name = "LINE message deliveries (daily)"
        verbose_name_plural = "LINE message deliveries (daily)"


class DemographicSnapshot(models.Model):
    """Friends' demographics as LINE described them on a day: lists of ``{"gender": …, "percentage": …}``."""

    date = models.DateField(unique=True, help_text="LINE's day (UTC+9) it was fetched.")
    available = models.BooleanField()
    genders = models.JSONField(default=list, blank=True)
    ages = models.JSONField(default=list, blank=True)
    areas = models.JSONField(default=list, blank=True)
    app_types = models.JSONField(default=list, blank=True)
    subscription_periods = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField()
    fetch_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-date"]
        verbose_name = "LINE friend demographics"
        verbose_name_plural = "LINE friend demographics"

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}"


class Tracked(models.Model):
    campaign_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Set once LINE no longer updates the figures: nothing is fetched after it.
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class TrackedRequest(Tracked):
    """A broadcast or narrowcast whose figures LINE keeps by request id."""

    class Kind(models.TextChoices):
        BROADCAST = "broadcast", "Broadcast"
        NARROWCAST = "narrowcast", "Narrowcast"

    request_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = "LINE request followed"
        verbose_name_plural = "LINE requests followed"

    def __str__(self) -> str:
        return f"{self.kind} {self.request_id}"

    @property
    def follow_until(self) -> datetime:
        return self.sent_at + FIGURES_UPDATED_FOR


class TrackedUnit(Tracked):
    """A name given to pushes and multicasts (``customAggregationUnits``) whose figures LINE keeps together."""

    unit = models.CharField(max_length=30, unique=True)
    first_sent = models.DateTimeField()
    last_sent = models.DateTimeField()

    class Meta:
        ordering = ["-first_sent"]
        verbose_name = "LINE unit followed"
        verbose_name_plural = "LINE units followed"

    def __str__(self) -> str:
        return self.unit

    def period(self, now: datetime) -> tuple[date, date]:
        """The LINE days to ask for: from the first send's, to today's, at most 30 days later."""
        start = line_day(self.first_sent)
        return start, max(start, min(line_day(now), start + UNIT_PERIOD))

    @property
    def follow_until(self) -> datetime:
        """When LINE stops updating: 14 days after the last send that falls inside the period."""
        period_over = line_day_start(line_day(self.first_sent) + UNIT_PERIOD + timedelta(days=1))
        return min(self.last_sent, period_over) + FIGURES_UPDATED_FOR


class MessageFigures(models.Model):
    unique_impression = models.BigIntegerField(null=True, blank=True, help_text="Users who opened it.")
    unique_click = models.BigIntegerField(null=True, blank=True, help_text="Users who opened a link in it.")
    unique_media_played = models.BigIntegerField(null=True, blank=True)
    unique_media_played_100 = models.BigIntegerField(null=True, blank=True)
    # LINE's per-bubble and per-link figures as it sent them (null where hidden).
    messages = models.JSONField(default=list, blank=True)
    clicks = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField()
    fetch_count = models.PositiveIntegerField(default=0)
    final = models.BooleanField(default=False, help_text="LINE no longer updates these figures.")

    class Meta:
        abstract = True

    @property
    def hidden(self) -> list[str]:
        """The overview figures LINE withheld (fewer than 20 users)."""
        names = ["unique_impression", "unique_click", "unique_media_played", "unique_media_played_100"]
        return [name for name in names if getattr(self, name) is None]


class MessageEventSnapshot(MessageFigures):
    request = models.OneToOneField(TrackedRequest, on_delete=models.CASCADE, related_name="snapshot")
    date = models.DateField(help_text="LINE's day (UTC+9) of the send.")
    # Exact even below 20; NULL while LINE has not sent every message yet.
    delivered = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = "LINE statistics of a broadcast or narrowcast"
        verbose_name_plural = "LINE statistics of broadcasts and narrowcasts"

    def __str__(self) -> str:
        return f"{self.request.request_id} ({self.date:%Y-%m-%d})"


class UnitSnapshot(MessageFigures):
    unit = models.OneToOneField(TrackedUnit, on_delete=models.CASCADE, related_name="snapshot")
    date_from = models.DateField()
    date_to = models.DateField()

    class Meta:
        ordering = ["-date_from", "-id"]
        verbose_name = "LINE statistics of a unit"
        verbose_name_plural = "LINE statistics of units"

    def __str__(self) -> str:
        return f"{self.unit.unit} ({self.date_from:%Y-%m-%d} to {self.date_to:%Y-%m-%d})"
