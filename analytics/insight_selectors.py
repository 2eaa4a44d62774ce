"""Reading LINE's figures from the insight snapshots.

A figure is None when it is not known: not synced yet (``synced_at`` is None too), or withheld by LINE because
fewer than 20 users are behind it (``synced_at`` is set). Never a zero standing in for either.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from analytics.insight_models import DeliverySnapshot, FollowerSnapshot, TrackedRequest, TrackedUnit


def _total(values: list[int | None]) -> int | None:
    if not values or any(value is None for value in values):
        return None
    return sum(values)


def line_figures_for_campaign(campaign_id: int) -> dict[str, Any]:
    """LINE's figures of a campaign's broadcasts, narrowcasts and units, added up.

    ``{"delivered", "unique_impressions", "unique_clicks", "synced_at", "final"}``. A total is None unless every
    part of the campaign is synced and LINE shows that figure for each: a partial sum would pass for the whole.
    ``delivered`` comes from broadcasts and narrowcasts only (LINE does not count deliveries per unit), so it is
    None for a campaign with units. Unique users are added up per send: someone who opened two broadcasts of the
    campaign counts twice. ``synced_at`` is the oldest fetch among the parts; ``final`` says LINE no longer
    updates any of them.
    """
    requests = list(TrackedRequest.objects.filter(campaign_id=campaign_id).select_related("snapshot"))
    units = list(TrackedUnit.objects.filter(campaign_id=campaign_id).select_related("snapshot"))
    snapshots = [getattr(tracked, "snapshot", None) for tracked in [*requests, *units]]
    if not snapshots or any(snapshot is None for snapshot in snapshots):
        return {"delivered": None, "unique_impressions": None, "unique_clicks": None, "synced_at": None, "final": False}
    delivered = _total([tracked.snapshot.delivered for tracked in requests]) if not units else None
    return {
        "delivered": delivered,
        "unique_impressions": _total([snapshot.unique_impression for snapshot in snapshots]),
        "unique_clicks": _total([snapshot.unique_click for snapshot in snapshots]),
        "synced_at": min(snapshot.fetched_at for snapshot in snapshots),
        "final": all(snapshot.final for snapshot in snapshots),
    }


def line_daily_figures(*, start: date, end: date) -> list[dict[str, Any]]:
    """Per LINE day from ``start`` to ``end``: followers, targeted reaches, blocks and messages sent through the API,
    with LINE's status of each (None where LINE has not calculated the day or it was not fetched)."""
    followers = {row.date: row for row in FollowerSnapshot.objects.filter(date__range=(start, end))}
    deliveries = {row.date: row for row in DeliverySnapshot.objects.filter(date__range=(start, end))}
    days = []
    for day in sorted(set(followers) | set(deliveries)):
        follower, delivery = followers.get(day), deliveries.get(day)
        days.append(
            {
                "date": day,
                "followers_status": follower.status if follower else None,
                "followers": follower.followers if follower else None,
                "targeted_reaches": follower.targeted_reaches if follower else None,
                "blocks": follower.blocks if follower else None,
                "deliveries_status": delivery.status if delivery else None,
                "api_messages": _api_total(delivery) if delivery else None,
                "synced_at": _latest(follower, delivery),
            }
        )
    return days


def _api_total(delivery: DeliverySnapshot) -> int | None:
    if delivery.status != "ready":
        return None
    counts = [delivery.api_broadcast, delivery.api_push, delivery.api_multicast, delivery.api_narrowcast]
    # LINE leaves out the ways not used that day: those are no messages, unlike a hidden figure.
    return sum(count or 0 for count in [*counts, delivery.api_reply])


def _latest(*snapshots) -> datetime | None:
    times = [snapshot.fetched_at for snapshot in snapshots if snapshot is not None]
    return max(times) if times else None
