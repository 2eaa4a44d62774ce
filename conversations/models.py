"""What the bot knows about LINE users, their conversations and the webhooks LINE sent."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class LineUser(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        # Unfollowed users are kept for analytics; a new follow makes them active again.
        INACTIVE = "inactive", "Inactive"

    line_user_id = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=255, blank=True)
    picture_url = models.URLField(max_length=1000, blank=True)
    status_message = models.TextField(blank=True)
    # A BCP 47 tag such as "en", "ja" or "zh-TW"; empty until the profile or /lang tells us.
    language = models.CharField(max_length=16, blank=True)
    # Whether the user chose ``language`` with /lang. If not, it is their LINE app's language, which says
    # little about what they write in (many Thai users run LINE in English): the model answers in the
    # language of each message, and ``language`` is only the fallback and the language of fixed sentences.
    # The database default too: code that predates the column (a rolling deploy's old processes) still inserts.
    language_chosen = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Chosen by the user with /lang: every answer in it. Otherwise the LINE app's language.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # When the user last followed (added) the account; NULL for users seen before this was recorded.
    followed_at = models.DateTimeField(null=True, blank=True)
    # Labels the content team targets campaigns with, e.g. ["vip", "bangkok"].
    tags = models.JSONField(default=list, blank=True)
    # An IANA time zone ("Asia/Bangkok"); empty means the campaign's own time zone applies.
    timezone = models.CharField(max_length=64, blank=True)
    # Set by /stop (or the opt-out button): no campaign message reaches the user until /start.
    opted_out_at = models.DateTimeField(null=True, blank=True)

    # Not stored: what line_user_touch learnt with the row, so that answering an event asks no more.
    # Whether that call created the user (nothing said, no tokens used yet), and whether an operator's
    # takeover was open (None: not asked; an open one may have expired since, takeovers.takeover_current decides).
    first_seen_now: bool = False
    takeover_open: bool | None = None

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [
            models.Index(fields=["status", "followed_at"], name="line_user_status_followed"),
            models.Index(fields=["status", "last_seen_at"], name="line_user_status_seen"),
        ]
        permissions = [
            ("export_personal_data", "Can export everything held about a LINE user"),
            ("erase_personal_data", "Can erase a LINE user's personal data"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.line_user_id

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None


class Conversation(models.Model):
    """One thread of talk in one chat (a user's 1:1 chat, a group or a room); /reset starts a new one."""

    class SourceType(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"
        ROOM = "room", "Room"

    source_type = models.CharField(max_length=8, choices=SourceType.choices)
    source_id = models.CharField(max_length=64)
    user = models.ForeignKey(LineUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_conversation_per_chat",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_type}:{self.source_id} since {self.started_at:%Y-%m-%d %H:%M}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # The speaker; in groups and rooms this differs from the conversation's user.
    # Its look-ups use the index on (line_user, created_at).
    line_user = models.ForeignKey(
        LineUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    webhook_event = models.ForeignKey(
        "WebhookEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    # What the text stands for when the user sent something else: "image:<LINE message id>" etc.
    media_ref = models.CharField(max_length=255, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    model = models.CharField(max_length=128, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    # Set only on test messages a staff member sent from the ops console or the API.
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Operators' answers during a takeover: the takeover, the push's X-Line-Retry-Key (stored before
    # LINE is called, so a second attempt cannot deliver twice) and when LINE accepted it.
    takeover = models.ForeignKey(
        "Takeover", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    retry_key = models.UUIDField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        # Every answer inserts two rows, so each index is paid for twice per event. Django's own indexes for
        # db_index CharFields come with a second, varchar_pattern_ops one that only LIKE 'prefix%' uses (nothing
        # here does); the staff and takeover references are empty on almost every row, so only rows that have
        # one are indexed (a look-up by either, or the SET NULL of a deletion, still finds them).
        indexes = [
            models.Index(fields=["line_user", "created_at"]),
            models.Index(fields=["correlation_id"], name="message_correlation"),
            models.Index(fields=["sent_by"], name="message_sent_by", condition=models.Q(sent_by__isnull=False)),
            models.Index(fields=["takeover"], name="message_takeover", condition=models.Q(takeover__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class WebhookEvent(models.Model):
    """One event as LINE delivered it, and how far the bot got in answering it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        REPLIED = "replied", "Replied"
        # Handled without an answer: unknown types, unfollow, group chatter not addressed to the bot.
        IGNORED = "ignored", "Ignored"
        # Stored but not answered because its sender went over the per-minute limit.
        THROTTLED = "throttled", "Throttled"
        # Stored and shown to the operator, not answered: an operator had paused the bot for this user.
        TAKEN_OVER = "taken_over", "Not answered: an operator took over"
        FAILED = "failed", "Failed"

    class ReplyState(models.TextChoices):
        NONE = "none", "Nothing to send"
        PREPARED = "prepared", "Prepared"
        SENDING_REPLY = "sending_reply", "Sending with the reply token"
        SENDING_PUSH = "sending_push", "Sending by push"
        SENT = "sent", "Sent"

    FINAL_STATUSES = (Status.REPLIED, Status.IGNORED, Status.THROTTLED, Status.TAKEN_OVER, Status.FAILED)

    # LINE's unique id of the event; events without one (not as LINE sends them) use their digest.
    webhook_event_id = models.CharField(max_length=64)
    # Tells an identical redelivery (answered once) from a differing body under the same id
    # (a WebhookEventConflict, never answered).
    content_digest = models.CharField(max_length=64)
    event_type = models.CharField(max_length=32)
    message_type = models.CharField(max_length=32, blank=True)
    source_type = models.CharField(max_length=8, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    line_user_id = models.CharField(max_length=64, blank=True)
    reply_token = models.CharField(max_length=255, blank=True)
    is_redelivery = models.BooleanField(default=False)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    destination = models.CharField(max_length=64, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    deliveries = models.PositiveIntegerField(default=1)
    # Its sender was over the per-minute limit; the event is answered with a polite note at most.
    throttled = models.BooleanField(default=False)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    # Until when a runner owns the event on databases without advisory locks.
    lease_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    # The answer is written here before LINE is called, so a rerun sends the same thing once.
    reply_messages = models.JSONField(null=True, blank=True)
    reply_state = models.CharField(max_length=16, choices=ReplyState.choices, default=ReplyState.NONE)
    retry_key = models.UUIDField(default=uuid.uuid4, editable=False)
    reply_method = models.CharField(max_length=8, blank=True)
    reply_sent_at = models.DateTimeField(null=True, blank=True)
    line_request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["webhook_event_id"], name="one_row_per_webhook_event_id")]
        # Each event is inserted once and updated four or five times, and an update that changes an indexed
        # column adds an entry to every index: the table keeps only the indexes something reads. Not Django's
        # varchar_pattern_ops twins of db_index CharFields (only LIKE 'prefix%' uses them), nor one on the
        # event type or the status alone (a handful of values each); the sweep for stalled events reads the
        # unfinished ones, which are the only rows its index holds.
        indexes = [
            models.Index(
                fields=["received_at"],
                name="webhook_event_unfinished",
                condition=models.Q(status__in=["received", "processing"]),
            ),
            models.Index(fields=["line_user_id"], name="webhook_event_line_user"),
            models.Index(fields=["correlation_id"], name="webhook_event_correlation"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_event_id} ({self.status})"

    @property
    def text(self) -> str:
        """What the user typed, for a text message; empty for anything else."""
        message = self.payload.get("message") if isinstance(self.payload, dict) else None
        if self.message_type == "text" and isinstance(message, dict):
            return str(message.get("text") or "")
        return ""

    @property
    def ack_to_reply_ms(self) -> int | None:
        if self.reply_sent_at is None:
            return None
        return int((self.reply_sent_at - self.received_at).total_seconds() * 1000)


class WebhookEventOutbox(models.Model):
    """A stored event the relay has still to publish (CONVERSATION_DISPATCH = "outbox"; conversations.relay).

    The ack inserts the row in the statement that stores the event, and the relay deletes it as it publishes.
    A table of its own rather than a column of the event: marking the event as published rewrote the whole
    row and every index entry of it, on every ack. No database constraint either: checking it would lock the
    event just inserted, and the relay looks the event up anyway (an entry whose event is gone is dropped).
    """

    event = models.OneToOneField(
        WebhookEvent, primary_key=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )

    def __str__(self) -> str:
        return f"event {self.event_id} to publish"


class WebhookEventConflict(models.Model):
    """A body that came under a known ``webhookEventId`` but differs from the stored event.

    LINE's ids are unique, so the bot answers the first body only; the others are kept here
    for inspection, once per distinct body.
    """

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="conflicts")
    content_digest = models.CharField(max_length=64)
    payload = models.JSONField()
    correlation_id = models.CharField(max_length=128, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_received_at = models.DateTimeField(default=timezone.now)
    deliveries = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "content_digest"], name="one_row_per_webhook_event_conflict")
        ]

    def __str__(self) -> str:
        return f"conflict on event {self.event_id}"


class Takeover(models.Model):
    """An operator answering one LINE user in the bot's place: the bot stays silent until the operator
    hands back or ``expires_at`` passes (checked whenever the bot is about to answer)."""

    class EndReason(models.TextChoices):
        HANDED_BACK = "handed_back", "Handed back"
        EXPIRED = "expired", "Expired"

    line_user = models.ForeignKey(LineUser, on_delete=models.CASCADE, related_name="takeovers")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line_user"], condition=models.Q(ended_at__isnull=True), name="one_open_takeover_per_user"
            )
        ]
        permissions = [("take_over_conversation", "Can take over a conversation from the bot")]

    def __str__(self) -> str:
        return f"takeover of {self.line_user} since {self.started_at:%Y-%m-%d %H:%M}"
