"""Tasks of analytics, imported here so that Celery finds them."""

from celery import shared_task

from analytics import rollups
from analytics.insight_tasks import sync_line_insight  # noqa: F401


@shared_task(name="analytics.tasks.update_rollups", ignore_result=True, soft_time_limit=600, time_limit=660)
def update_rollups() -> dict:
    return rollups.rollups_update()
