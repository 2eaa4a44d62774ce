"""Campaigns and what delivering them leaves behind.

A :class:`Campaign` is what the content team writes and an approver signs off. Each time it goes out is a
:class:`CampaignSend` (once, or once per occurrence of its recurrence, or per minute of due step messages).
A send's recipients are :class:`CampaignRecipient` rows, each sent, skipped (with a reason), held (until a
time) or failed; the ones to send are grouped in :class:`CampaignChunk` rows of at most 500, each one
multicast call with its own ``X-Line-Retry-Key`` stored before the call.

Models refer to ``richmessages.RichMessage`` by name: this package never imports ``richmessages.models``
(which imports this module), so the two cannot form a cycle.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import now

MAX_CHUNK = 500


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    EDITABLE = (Status.DRAFT, Status.IN_REVIEW, Status.SCHEDULED)
    APPROVED = (Status.SCHEDULED, Status.SENDING, Status.PAUSED, Status.SENT)
    FINAL = (Status.SENT, Status.FAILED, Status.CANCELLED)

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)

    # The content: one rich message, or A/B variants (CampaignVariant) when there are any.
    rich_message = models.ForeignKey(
        "richmessages.RichMessage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who it reaches, as validated by richmessages.campaigns.audiences ({"type": "all_followers"}, ...).
    audience = models.JSONField(default=dict)
    # For uploaded lists: the ids that were unknown or no longer follow, reported and skipped.
    audience_report = models.JSONField(default=dict, blank=True)
    # Kept out for measurement, chosen by a hash of campaign id and user id (0 = nobody).
    holdout_percent = models.PositiveSmallIntegerField(default=0)

    # When: null means as soon as it is approved. With a recurrence, the first occurrence.
    send_at = models.DateTimeField(null=True, blank=True)
    # An RFC 5545 RRULE ("FREQ=WEEKLY;BYDAY=MO"), read in ``timezone``; empty for a single send.
    recurrence = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Deliver at send_at's wall-clock time in each recipient's own time zone.
    local_time = models.BooleanField(default=False)
    # A step message: sent this many days after each user follows (instead of at send_at).
    step_days = models.PositiveSmallIntegerField(null=True, blank=True)

    # Guards beyond the ones that always apply (opted out, unfollowed).
    frequency_cap_day = models.PositiveSmallIntegerField(null=True, blank=True)
    frequency_cap_week = models.PositiveSmallIntegerField(null=True, blank=True)
    cooldown = models.BooleanField(default=True, help_text="Respect richmessages.cooldown_minutes.")
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_campaign", "Can approve, reject and control campaigns")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_approved(self) -> bool:
        return self.approved_by_id is not None and self.approved_at is not None

    @property
    def is_step(self) -> bool:
        return self.step_days is not None


class CampaignVariant(models.Model):
    """One arm of an A/B test: recipients are split by weight, deterministically per user."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=32)
    rich_message = models.ForeignKey("richmessages.RichMessage", on_delete=models.PROTECT, related_name="+")
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["campaign_id", "name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="campaign_variant_unique_name")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.name} weight {self.weight}"


class CampaignSend(models.Model):
    """One time a campaign goes out."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        STEP = "step", "Step messages"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for its time"
        PREPARING = "preparing", "Preparing recipients"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Method(models.TextChoices):
        MULTICAST = "multicast", "Multicast"
        BROADCAST = "broadcast", "Broadcast"
        NARROWCAST = "narrowcast", "Narrowcast"

    FINAL = (Status.DONE, Status.FAILED, Status.CANCELLED)

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sends")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SCHEDULED)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.MULTICAST)
    # Every part (CampaignSendPart) has written its recipients.
    prepared = models.BooleanField(default=False)
    # Chunks may go to LINE: LINE's quota was checked, against the audience's size before any part ran when
    # that already fits (chunks then go as their batch is written), else against the exact count once prepared.
    released = models.BooleanField(default=False)
    # For a broadcast or narrowcast (one call for everyone), stored before the call.
    retry_key = models.UUIDField(default=uuid.uuid4, editable=False)
    line_request_id = models.CharField(max_length=64, blank=True)
    narrowcast_phase = models.CharField(max_length=16, blank=True)
    # The LINE audience of opted-out users a narrowcast excludes, created once per send.
    line_audience_group_id = models.BigIntegerField(null=True, blank=True)

    recipients = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)

    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="campaign_send_due")]
        constraints = [
            # One row per occurrence: creating the next occurrence twice (two beats, a rerun) makes one.
            models.UniqueConstraint(
                fields=["campaign", "due_at"],
                condition=models.Q(kind="scheduled"),
                name="campaign_send_one_per_occurrence",
            )
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} at {self.due_at:%Y-%m-%d %H:%M} ({self.status})"


class CampaignSendPart(models.Model):
    """A range of ``LineUser`` pks of a send's audience, prepared by a task of its own, batch after batch.

    The ranges split the audience when the send is claimed, so several workers prepare one send at once;
    the last part is open-ended (followers who arrive meanwhile are in it). ``cursor`` is the last pk written,
    so a rerun of a part resumes there and never writes a batch twice.
    """

    send = models.ForeignKey(CampaignSend, on_delete=models.CASCADE, related_name="parts")
    after_pk = models.BigIntegerField()
    last_pk = models.BigIntegerField(null=True, blank=True, help_text="Inclusive; empty for the open-ended last.")
    cursor = models.BigIntegerField()
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["send_id", "after_pk"]
        constraints = [models.UniqueConstraint(fields=["send", "after_pk"], name="campaign_send_part_once")]

    def __str__(self) -> str:
        return f"send {self.send_id} users ({self.after_pk}, {self.last_pk or '…'}] at {self.cursor}"


class CampaignChunk(models.Model):
    """At most 500 recipients sent by one multicast call, under one retry key."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN = (Status.PENDING, Status.SENDING)

    send = models.ForeignKey(CampaignSend, on_delete=models.CASCADE, related_name="chunks")
    variant = models.CharField(max_length=32, blank=True)
    rich_message = models.ForeignKey("richmessages.RichMessage", on_delete=models.PROTECT, related_name="+")
    # Stored with the chunk, before LINE is ever called: every attempt of this chunk carries it.
    retry_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    size = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    line_request_id = models.CharField(max_length=64, blank=True)
    duplicate = models.BooleanField(default=False, help_text="LINE had already accepted this retry key (409).")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="campaign_chunk_open"),
            # "Is any chunk of this send still open?" after every chunk: without it, a scan of the send's
            # sent chunks each time (quadratic in the chunks of a send).
            models.Index(
                fields=["send"], condition=models.Q(status__in=["pending", "sending"]), name="campaign_chunk_send_open"
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.pk} of send {self.send_id} ({self.status}, {self.size})"


class CampaignRecipient(models.Model):
    """What became of one user in one send."""

    class Status(models.TextChoices):
        PENDING = "pending", "In a chunk, not sent yet"
        HELD = "held", "Held until release_at"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    class Reason(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out"
        UNFOLLOWED = "unfollowed", "Does not follow the account"
        HOLDOUT = "holdout", "In the holdout group"
        FREQUENCY_DAY = "frequency_cap_day", "Daily frequency cap reached"
        FREQUENCY_WEEK = "frequency_cap_week", "Weekly frequency cap reached"
        COOLDOWN = "cooldown", "Within the cooldown of a previous campaign message"
        QUIET_HOURS = "quiet_hours", "Quiet hours in the recipient's time zone"
        LOCAL_TIME = "local_time", "Waiting for the local send time"
        CANCELLED = "cancelled", "Campaign cancelled"
        LINE_ERROR = "line_error", "LINE refused the message"

    # The send and the chunk are written with their recipients, in the same statement or transaction, and
    # deleted through the ORM (which cascades): no database constraint checks each of a million rows against
    # them at commit (half of PostgreSQL's time preparing a send, docs/PERFORMANCE.md). The user keeps one.
    send = models.ForeignKey(
        CampaignSend, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    line_user = models.ForeignKey("conversations.LineUser", on_delete=models.CASCADE, related_name="+")
    variant = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    # Why it was skipped or held; empty for sent and pending.
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    chunk = models.ForeignKey(
        CampaignChunk, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    release_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["send_id", "id"]
        constraints = [models.UniqueConstraint(fields=["send", "line_user"], name="campaign_recipient_once")]
        indexes = [
            # The frequency cap and the cooldown look up what each user was sent lately.
            models.Index(
                fields=["line_user", "sent_at"], condition=models.Q(status="sent"), name="campaign_recipient_sent"
            ),
            models.Index(fields=["release_at"], condition=models.Q(status="held"), name="campaign_recipient_held"),
        ]

    def __str__(self) -> str:
        return f"{self.line_user_id} in send {self.send_id}: {self.status} {self.reason}".strip()


class StepEnrolment(models.Model):
    """A user enrolled on follow in a step campaign; sent once when ``due_at`` comes."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        DISPATCHED = "dispatched", "Handed to a send"
        CANCELLED = "cancelled", "Cancelled"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrolments")
    line_user = models.ForeignKey("conversations.LineUser", on_delete=models.CASCADE, related_name="+")
    enrolled_at = models.DateTimeField(default=now)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    send = models.ForeignKey(CampaignSend, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "line_user"], name="step_enrolment_once")]
        indexes = [models.Index(fields=["status", "due_at"], name="step_enrolment_due")]

    def __str__(self) -> str:
        return f"{self.line_user_id} in campaign {self.campaign_id} due {self.due_at:%Y-%m-%d %H:%M}"
