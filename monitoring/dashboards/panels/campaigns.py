"""The campaigns dashboard: rich messages delivered and tapped today. Campaign panels plug in here."""

from __future__ import annotations

from django.db.models import Count

from analytics.models import Event
from monitoring.dashboards.registry import Field, register_panel

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
