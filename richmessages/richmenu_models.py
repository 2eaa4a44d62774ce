"""Rich menus: what the content team edits, and the copies of it that exist on LINE.

A :class:`RichMenu` is ours to edit. LINE's rich menus can't be changed once made (not even the image), so
each distinct version of a menu that we send becomes one :class:`RichMenuDeployment`: a LINE rich menu
with the steps of its sync recorded on the row, so that a rerun continues where a failed one stopped.
Aliases and per-user links say where they should point and remember where LINE has them pointing.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from richmessages.richmenu_areas import ALIAS_ID_VALIDATOR, line_object


class RichMenu(models.Model):
    name = models.CharField(max_length=100, help_text="For the team only; LINE users never see it.")
    chat_bar_text = models.CharField(
        max_length=14, help_text="The text of the menu's bar under the chat; at most 14 characters."
    )
    selected = models.BooleanField(default=False, help_text="Open the menu when the chat opens.")
    # JPEG or PNG, stored under its SHA-256; LINE's size rules are checked when it is uploaded.
    image = models.FileField(upload_to="rich/menus/", max_length=255)
    image_sha256 = models.CharField(max_length=64, editable=False)
    image_content_type = models.CharField(max_length=32, editable=False)
    image_width = models.PositiveIntegerField(editable=False)
    image_height = models.PositiveIntegerField(editable=False)
    # The tap areas, each {"name", "x", "y", "width", "height", "action": {...}}; see richmessages.richmenu_areas.
    areas = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(
        default=False, help_text="Shown to every user who has no menu of their own. Only one menu can be the default."
    )
    # Off: the menu is taken off LINE (default, links and aliases included) on the next sync.
    active = models.BooleanField(default=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # The sync: one runner at a time holds the lease; the outcome of the last run.
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="rich_menu_one_default")
        ]

    def __str__(self) -> str:
        return self.name

    def validate_constraints(self, exclude=None):
        # Making a menu the default takes the flag from the one that had it (richmenu_save): a form that ticks
        # "default" is not a violation. The database still holds the rule.
        super().validate_constraints(exclude={*(exclude or ()), "is_default"})

    def area(self, name: str) -> dict | None:
        return next((area for area in self.areas or [] if isinstance(area, dict) and area.get("name") == name), None)

    @property
    def fingerprint(self) -> str:
        """Changes whenever what LINE would be sent changes: then a new LINE menu is needed."""
        menu = line_object(self, marker="")
        # The name is ours alone: renaming a menu needs no new LINE menu.
        menu.pop("name")
        payload = json.dumps({"menu": menu, "image": self.image_sha256}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def live_deployment(self) -> RichMenuDeployment | None:
        """The LINE menu users see now: the newest one whose image is on LINE."""
        return (
            self.deployments.filter(image_uploaded_at__isnull=False, deleted_on_line_at__isnull=True)
            .order_by("-live_at", "-id")
            .first()
        )


class RichMenuDeployment(models.Model):
    """One LINE rich menu made from one version of a :class:`RichMenu`; its steps are done in order."""

    menu = models.ForeignKey(RichMenu, on_delete=models.CASCADE, related_name="deployments")
    fingerprint = models.CharField(max_length=64)
    # Sent as the LINE menu's name: finds the menu on LINE's list if the answer to its creation was lost.
    line_name = models.CharField(max_length=300, unique=True)
    line_rich_menu_id = models.CharField(max_length=64, blank=True, db_index=True)

    create_started_at = models.DateTimeField(null=True, blank=True)
    created_on_line_at = models.DateTimeField(null=True, blank=True)
    image_uploaded_at = models.DateTimeField(null=True, blank=True)
    # Default, aliases and links were moved to it.
    live_at = models.DateTimeField(null=True, blank=True)
    deleted_on_line_at = models.DateTimeField(null=True, blank=True)
    is_default_on_line = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["menu", "fingerprint"],
                condition=Q(deleted_on_line_at__isnull=True),
                name="rich_menu_deployment_one_per_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.menu} → {self.line_rich_menu_id or 'not yet on LINE'}"


class RichMenuAlias(models.Model):
    """A name LINE users' taps switch to (``richmenuswitch``); points at the live LINE menu of ``menu``."""

    alias_id = models.CharField(max_length=32, unique=True, validators=[ALIAS_ID_VALIDATOR])
    menu = models.ForeignKey(RichMenu, on_delete=models.CASCADE, related_name="aliases")
    # What LINE has: empty until the alias exists there.
    line_rich_menu_id = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["alias_id"]
        verbose_name_plural = "rich menu aliases"

    def __str__(self) -> str:
        return self.alias_id


class RichMenuUserLink(models.Model):
    """The menu one LINE user sees instead of the default. ``menu`` empty: to be unlinked on LINE."""

    line_user = models.OneToOneField("conversations.LineUser", on_delete=models.CASCADE, related_name="rich_menu_link")
    menu = models.ForeignKey(RichMenu, null=True, blank=True, on_delete=models.CASCADE, related_name="user_links")
    # What LINE has linked for the user: empty when nothing is.
    line_rich_menu_id = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.line_user} → {self.menu or 'no menu'}"
