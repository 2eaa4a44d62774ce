"""Reads of the template library."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from richmessages.models import RichTemplate, RichTemplateVersion


def rich_templates_with_versions() -> QuerySet[RichTemplate]:
    """Templates with their versions prefetched newest first (``template.versions.all()[0]`` is the latest)."""
    versions = RichTemplateVersion.objects.select_related("author", "approved_by").order_by("-number")
    return RichTemplate.objects.prefetch_related(Prefetch("versions", queryset=versions)).order_by("name", "id")


def latest_version(template: RichTemplate) -> RichTemplateVersion | None:
    """The newest version, from the prefetched versions when there are any."""
    versions = list(template.versions.all())
    return max(versions, key=lambda version: version.number) if versions else None


def approved_version(template: RichTemplate) -> RichTemplateVersion | None:
    approved = [v for v in template.versions.all() if v.status == RichTemplateVersion.Status.APPROVED]
    return max(approved, key=lambda version: version.number) if approved else None
