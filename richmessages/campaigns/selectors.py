"""Reads of campaigns: lists, progress counts, and the recipient count shown before approval."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from conversations.models import LineUser
from richmessages.campaigns import audiences
from richmessages.campaigns.models import Campaign, CampaignRecipient, CampaignSend

COUNTERS = ("recipients", "sent", "failed", "skipped", "held")


def campaigns_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("author", "approved_by", "rich_message").prefetch_related("variants")


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    """Progress over every send of the campaign: recipients, sent, failed, skipped (holdout included), held."""
    totals = CampaignSend.objects.filter(campaign=campaign).aggregate(
        **{name: Coalesce(Sum(name), 0) for name in COUNTERS}
    )
    return {name: int(totals[name]) for name in COUNTERS}


def skip_reasons(campaign: Campaign) -> dict[str, int]:
    """How many recipients were skipped or held for each reason (reads recipient rows: for detail views)."""
    rows = (
        CampaignRecipient.objects.filter(send__campaign=campaign, status__in=("skipped", "held"))
        .values("reason")
        .annotate(count=Count("id"))
    )
    return {row["reason"]: row["count"] for row in rows}


def recipient_estimate(campaign: Campaign) -> dict[str, int | None]:
    """Before approval: who the audience names now, who the standing guards take out, and what is left.

    ``recipients`` is the audience less unfollowed and opted-out users and the expected holdout; frequency
    caps, cooldown and quiet hours depend on the moment of sending and are counted then. A narrowcast's
    recipients are chosen by LINE: its counts are None.
    """
    audience = campaign.audience or {}
    if not audience or audiences.uses_line_targeting(audience):
        return {"audience": None, "unfollowed": None, "opted_out": None, "holdout": None, "recipients": None}
    users = audiences.candidates(audience)
    counts = users.aggregate(
        total=Count("pk"),
        unfollowed=Count("pk", filter=~Q(status=LineUser.Status.ACTIVE)),
        opted_out=Count("pk", filter=Q(status=LineUser.Status.ACTIVE, opted_out_at__isnull=False)),
    )
    eligible = counts["total"] - counts["unfollowed"] - counts["opted_out"]
    holdout = round(eligible * campaign.holdout_percent / 100)
    return {
        "audience": counts["total"],
        "unfollowed": counts["unfollowed"],
        "opted_out": counts["opted_out"],
        "holdout": holdout,
        "recipients": eligible - holdout,
    }


def current_send(campaign: Campaign) -> CampaignSend | None:
    """The send running now, else the next one due, else the last one."""
    sends = CampaignSend.objects.filter(campaign=campaign)
    return (
        sends.filter(status__in=(CampaignSend.Status.PREPARING, CampaignSend.Status.SENDING)).order_by("due_at").first()
        or sends.filter(status=CampaignSend.Status.PENDING).order_by("due_at").first()
        or sends.order_by("-due_at", "-pk").first()
    )
