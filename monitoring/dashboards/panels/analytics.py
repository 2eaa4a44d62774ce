"""The analytics dashboard: today's engagement. Engagement panels plug in here."""

from __future__ import annotations

from django.db.models import Count

from analytics.models import Event
from conversations.models import Message
from monitoring.dashboards.registry import Field, register_panel


def conversations_today(ctx) -> dict:
    # Through today's webhook events: Message has no index on its time, WebhookEvent has.
    messages = Message.objects.filter(role=Message.Role.USER, webhook_event__received_at__gte=ctx.today_start)
    summary = messages.aggregate(messages=Count("id"), users=Count("line_user", distinct=True))
    return {"user_messages_today": summary["messages"], "users_active_today": summary["users"]}


def engagement_today(ctx) -> dict:
    counts = dict(
        Event.objects.filter(
            occurred_at__gte=ctx.today_start,
            type__in=[Event.Type.POSTBACK, Event.Type.RICHMENU_TAP, Event.Type.LINK_CLICK],
        )
        .values_list("type")
        .annotate(n=Count("id"))
        .values_list("type", "n")
    )
    return {
        "postback_taps_today": counts.get(Event.Type.POSTBACK, 0),
        "richmenu_taps_today": counts.get(Event.Type.RICHMENU_TAP, 0),
        "link_clicks_today": counts.get(Event.Type.LINK_CLICK, 0),
    }


register_panel(
    "analytics",
    "conversations",
    conversations_today,
    title="Conversations today",
    order=10,
    every=10,
    fields=[
        Field("users_active_today", "Users who wrote", chart=True),
        Field("user_messages_today", "Messages from users"),
    ],
)
register_panel(
    "analytics",
    "engagement",
    engagement_today,
    title="Taps and clicks today",
    order=20,
    every=10,
    fields=[
        Field("postback_taps_today", "Button taps"),
        Field("richmenu_taps_today", "Rich-menu taps"),
        Field("link_clicks_today", "Link clicks"),
    ],
)
