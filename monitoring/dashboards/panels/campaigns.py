"""The campaigns dashboard: rich messages delivered and tapped today, and campaigns in flight with progress.

The progress rows (``progress.#<id> <name>: sent`` ...) are also what a campaign's own page in the console
shows live: it subscribes to this dashboard and binds the keys of its campaign
(``richmessages.campaigns.selectors.progress_key``). The operations dashboard shows the in-flight summary.
"""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from analytics.models import Event
from monitoring.dashboards.registry import Field, register_panel
from richmessages.campaigns import selectors as campaign_selectors
from richmessages.campaigns.models import Campaign

TAPS = [Event.Type.POSTBACK, Event.Type.LINK_CLICK]


def rich_messages_today(ctx) -> dict:
    counts = dict(
        Event.objects.filter(
            occurred_at__gte=ctx.today_start, rich_message__isnull=False, type__in=[Event.Type.DELIVERED, *TAPS]
        )
        .values_list("type")
        .annotate(n=Count("id"))
        .values_list("type", "n")
    )
    sent = counts.get(Event.Type.DELIVERED, 0)
    taps = sum(counts.get(t, 0) for t in TAPS)
    return {
        "rich_messages_sent_today": sent,
        "rich_message_taps_today": taps,
        "rich_message_tap_rate_today": round(100 * taps / sent, 1) if sent else None,
    }


def campaigns_today(ctx) -> dict:
    return {
        "campaigns_active_today": Event.objects.filter(occurred_at__gte=ctx.today_start, campaign_id__isnull=False)
        .values("campaign_id")
        .distinct()
        .count()
    }


register_panel(
    "campaigns",
    "rich_messages",
    rich_messages_today,
    title="Rich messages today",
    order=10,
    every=10,
    fields=[
        Field("rich_messages_sent_today", "Delivered", chart=True),
        Field("rich_message_taps_today", "Taps"),
        Field("rich_message_tap_rate_today", "Tap rate", "percent"),
    ],
)
register_panel(
    "campaigns",
    "campaigns",
    campaigns_today,
    title="Campaigns today",
    order=20,
    every=10,
    fields=[Field("campaigns_active_today", "With activity today")],
)


# --- campaigns in flight ------------------------------------------------------------------------------------
RATE_WINDOW = 10.0
IN_FLIGHT = (Campaign.Status.SENDING, Campaign.Status.PAUSED)


def campaigns_in_flight(ctx) -> dict:
    """How many campaigns are sending (or paused mid-send), their recipients and how many were sent so far."""
    rows = [row for row in campaign_selectors.campaigns_in_flight(timezone.now()) if row["status"] in IN_FLIGHT]
    return {
        "campaigns_in_flight": len(rows),
        "campaigns_paused": sum(1 for row in rows if row["status"] == Campaign.Status.PAUSED),
        "campaign_recipients_in_flight": sum(row["recipients"] for row in rows),
        "campaign_sent_in_flight": sum(row["sent"] for row in rows),
    }


def campaign_send_rate(ctx) -> dict:
    """Campaign messages LINE accepted per second (richmessages.campaigns.metrics, every worker merged)."""
    rate = ctx.rate("campaign_messages_sent_total", RATE_WINDOW)
    return {
        "campaign_sends_per_second": None if rate is None else round(rate, 1),
        "campaign_messages_sent_total": int(ctx.total("campaign_messages_sent_total")),
    }


def campaign_progress(ctx) -> dict:
    """One row per count of each campaign in flight or finished in the last minutes."""
    data: dict = {}
    for row in campaign_selectors.campaigns_in_flight(timezone.now()):
        for counter in campaign_selectors.PROGRESS_COUNTERS:
            data[campaign_selectors.progress_key(row["id"], row["name"], counter)] = row[counter]
    return data


IN_FLIGHT_FIELDS = [
    Field("campaigns_in_flight", "Sending now"),
    Field("campaigns_paused", "Paused"),
    Field("campaign_recipients_in_flight", "Their recipients"),
    Field("campaign_sent_in_flight", "Sent so far"),
]
RATE_FIELDS = [
    Field("campaign_sends_per_second", "Campaign messages sent", "rate", chart=True),
    Field("campaign_messages_sent_total", "Since the workers started"),
]

register_panel(
    "campaigns",
    "in_flight",
    campaigns_in_flight,
    title="Campaigns in flight",
    order=5,
    every=2,
    fields=IN_FLIGHT_FIELDS,
)
register_panel("campaigns", "send_rate", campaign_send_rate, title="Sending", order=6, fields=RATE_FIELDS)
register_panel(
    "campaigns",
    "progress",
    campaign_progress,
    title="Progress of each campaign",
    order=7,
    every=2,
    rows=campaign_selectors.PROGRESS_PREFIX,
)
register_panel(
    "operations",
    "campaigns",
    campaigns_in_flight,
    title="Campaigns in flight",
    order=90,
    every=5,
    fields=IN_FLIGHT_FIELDS,
)
register_panel("operations", "campaign_sends", campaign_send_rate, title="Campaign sends", order=91, fields=RATE_FIELDS)
