"""Tells analytics how to look up campaigns and templates, which it reports on but may not import."""

from __future__ import annotations

from typing import Any

from analytics import subjects
from richmessages.campaigns.models import Campaign, CampaignVariant
from richmessages.models import RichTemplate, RichTemplateVersion


def campaign_of(campaign_id: int) -> dict[str, Any] | None:
    campaign = Campaign.objects.filter(pk=campaign_id).values("id", "name", "status", "holdout_percent").first()
    if campaign is None:
        return None
    campaign["variants"] = list(
        CampaignVariant.objects.filter(campaign_id=campaign_id).order_by("name").values_list("name", flat=True)
    )
    return campaign


def template_of(template_id: int) -> dict[str, Any] | None:
    template = RichTemplate.objects.filter(pk=template_id).values("id", "name", "slug").first()
    if template is None:
        return None
    template["version_ids"] = list(
        RichTemplateVersion.objects.filter(template_id=template_id).order_by("id").values_list("id", flat=True)
    )
    return template


subjects.register(campaign=campaign_of, template=template_of)
