"""Tasks of analytics, imported here so that Celery finds them."""

from analytics.insight_tasks import sync_line_insight  # noqa: F401
