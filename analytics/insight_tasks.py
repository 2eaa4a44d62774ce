"""The beat task of the LINE Insight sync."""

from __future__ import annotations

from celery import shared_task

from analytics.insight_sync import insight_sync


@shared_task
def sync_line_insight() -> dict:
    """Fetches what LINE's hourly budget allows now; safe to run while another run is at work (it returns)."""
    return insight_sync().as_dict()
