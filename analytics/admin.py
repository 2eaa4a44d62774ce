"""The analytics pages of the ops console."""

from analytics import insight_admin, report_admin  # noqa: F401
