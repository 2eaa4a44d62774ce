"""Which rows of the upstream bot's analytics were imported already: reruns of the import skip them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LegacyImport(models.Model):
    """One imported legacy row, by the table it came from and its key there (``metric_id``)."""

    source = models.CharField(max_length=64)
    legacy_key = models.CharField(max_length=128)
    # NULL if the event went later (it never does by retention, which only unlinks; kept for safety).
    event = models.OneToOneField(
        "analytics.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="legacy_import"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "legacy_key"], name="legacy_import_once")]

    def __str__(self) -> str:
        return f"{self.source}:{self.legacy_key}"
