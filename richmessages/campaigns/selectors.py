"""Reads of campaigns: lists, progress counts, and the recipient count shown before approval."""

from __future__ import annotations

from datetime import timedelta

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


# --- the console: delivery list and campaigns in flight -------------------------------------------------
PROGRESS_PREFIX = "progress."
PROGRESS_COUNTERS = ("recipients", "sent", "failed", "skipped", "held")
# A finished campaign stays on the live panel this long, so its final counts are seen.
RECENTLY_FINISHED_MINUTES = 15


def campaign_recipients(campaign: Campaign, *, status: str = "", reason: str = "") -> QuerySet[CampaignRecipient]:
    """Per-recipient delivery records of every send of the campaign, newest send first."""
    rows = CampaignRecipient.objects.filter(send__campaign=campaign).select_related("line_user", "send")
    if status:
        rows = rows.filter(status=status)
    if reason:
        rows = rows.filter(reason=reason)
    return rows.order_by("-send__due_at", "-send_id", "id")


def progress_key(campaign_id: int, name: str, counter: str) -> str:
    """The key of one progress count on the live campaigns panel (a row label on the dashboard page)."""
    return f"{PROGRESS_PREFIX}#{campaign_id} {name[:40]}: {counter}"


def campaigns_in_flight(now) -> list[dict]:
    """Campaigns sending or paused mid-send, and those finished in the last minutes, with their counts."""
    recent = now - timedelta(minutes=RECENTLY_FINISHED_MINUTES)
    rows = (
        CampaignSend.objects.filter(
            Q(campaign__status__in=(Campaign.Status.SENDING, Campaign.Status.PAUSED))
            & Q(status__in=(CampaignSend.Status.PREPARING, CampaignSend.Status.SENDING))
            | Q(finished_at__gte=recent)
        )
        .values("campaign_id", "campaign__name", "campaign__status")
        .annotate(**{name: Coalesce(Sum(name), 0) for name in PROGRESS_COUNTERS})
        .order_by("campaign_id")
    )
    return [
        {
            "id": row["campaign_id"],
            "name": row["campaign__name"],
            "status": row["campaign__status"],
            **{name: int(row[name]) for name in PROGRESS_COUNTERS},
        }
        for row in rows
    ]
