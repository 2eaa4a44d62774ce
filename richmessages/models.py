"""Rich messages: a library of background templates, and the Flex messages built from them.

A :class:`RichTemplate` is a template's identity; its content lives in numbered
:class:`RichTemplateVersion` rows. A draft version is edited in place; editing an approved
version makes a new draft version, so a :class:`RichMessage` built from a version keeps
pointing at exactly what it used.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class RichTemplate(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Archived templates stay for the messages built from them but build nothing new.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [("approve_richtemplate", "Can approve rich templates")]

    def __str__(self) -> str:
        return self.name

    @property
    def latest_version(self) -> RichTemplateVersion | None:
        return self.versions.order_by("-number").first()

    @property
    def approved_version(self) -> RichTemplateVersion | None:
        """The newest approved version: what new messages are built from."""
        return self.versions.filter(status=RichTemplateVersion.Status.APPROVED).order_by("-number").first()


class RichTemplateVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        ARCHIVED = "archived", "Archived"

    template = models.ForeignKey(RichTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)

    # The background, stored under a content-addressed name (its SHA-256), JPEG or PNG.
    background = models.FileField(upload_to="rich/backgrounds/", max_length=255)
    background_sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    theme = models.CharField(max_length=64, blank=True)
    mood = models.CharField(max_length=64, blank=True)
    best_for = models.JSONField(default=list, blank=True)
    times_of_day = models.JSONField(default=list, blank=True)

    # Each a dict: x, y, width, height, font_min, font_max, color, line_height, and optionally
    # overlay_color, overlay_opacity, stroke_width, stroke_color, shadow (see richmessages.layout).
    title_area = models.JSONField()
    body_area = models.JSONField()
    # Limits of the copy, counted in grapheme clusters (what a reader sees as characters).
    title_max_chars = models.PositiveIntegerField(default=40)
    body_max_chars = models.PositiveIntegerField(default=160)
    # The postback buttons the message carries, in order: "more", "like", "save", "share".
    buttons = models.JSONField(default=list, blank=True)
    # Copy written by people, per language ({"th": {"title": ..., "body": ...}}), used when the AI can't.
    curated_copy = models.JSONField(default=dict, blank=True)

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["template_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="rich_template_version_unique")]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number} ({self.status})"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


def _message_code() -> str:
    # Short enough for postback data (at most 300 characters), long enough not to be guessed.
    return secrets.token_urlsafe(9)


class RichMessage(models.Model):
    """One Flex message built from a template version: composed image, copy and buttons."""

    class CopySource(models.TextChoices):
        GIVEN = "given", "Written by a person"
        AI = "ai", "Written by the AI"
        AI_RETRY = "ai_retry", "Written by the AI (stricter retry)"
        CURATED = "curated", "Curated copy of the template"
        DEFAULT = "default", "Safe default"

    code = models.CharField(max_length=16, unique=True, default=_message_code, editable=False)
    template_version = models.ForeignKey(RichTemplateVersion, on_delete=models.PROTECT, related_name="messages")
    language = models.CharField(max_length=16)
    title = models.CharField(max_length=500)
    body = models.TextField()
    brief = models.JSONField(default=dict, blank=True)
    copy_source = models.CharField(max_length=16, choices=CopySource.choices)

    # The composed hero image, stored under its SHA-256: a changed message is a new file and URL.
    image = models.FileField(upload_to="rich/composed/", max_length=255)
    image_sha256 = models.CharField(max_length=64)
    # The exact message object sent to LINE ({"type": "flex", "altText": ..., "contents": ...}).
    flex = models.JSONField()

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("send_test_richmessage", "Can send a rich message as a test")]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"

    @property
    def buttons(self) -> list[str]:
        """The postback buttons the message carries, as its template version had them."""
        return list(self.template_version.buttons)

    @property
    def recalled_text(self) -> str:
        """What the message said, as the conversation remembers it when a reader asks about it."""
        return f"{self.title}\n\n{self.body}"


class RichMessageReaction(models.Model):
    """A LINE user liked or saved a rich message: once per user, message and kind, however often they tap."""

    class Kind(models.TextChoices):
        LIKE = "like", "Like"
        SAVE = "save", "Save"

    rich_message = models.ForeignKey(RichMessage, on_delete=models.CASCADE, related_name="reactions")
    line_user = models.ForeignKey("conversations.LineUser", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rich_message", "line_user", "kind"], name="rich_message_reaction_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.rich_message_id} by {self.line_user_id}"


# Rich menus live in their own module; importing them here makes them this app's models.
# Campaign models live in their own package; imported here so that Django registers them with this app.
from richmessages.campaigns.models import (  # noqa: E402
    Campaign,
    CampaignChunk,
    CampaignRecipient,
    CampaignSend,
    CampaignVariant,
    StepEnrolment,
)
from richmessages.richmenu_models import (  # noqa: E402
    RichMenu,
    RichMenuAlias,
    RichMenuDeployment,
    RichMenuUserLink,
)

__all__ = [
    "Campaign",
    "CampaignChunk",
    "CampaignRecipient",
    "CampaignSend",
    "CampaignVariant",
    "RichMenu",
    "RichMenuAlias",
    "RichMenuDeployment",
    "RichMenuUserLink",
    "RichMessage",
    "RichTemplate",
    "RichTemplateVersion",
    "StepEnrolment",
]
