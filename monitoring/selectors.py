"""Reads for the ops console and its dashboards."""

from __future__ import annotations

from datetime import datetime

from monitoring.models import ErrorKind


def recent_error_kinds(since: datetime, *, limit: int = 20) -> list[ErrorKind]:
    """Kinds of error first seen at or after ``since``, newest first: new kinds of error as they appear.

    Each has ``exception_type``, ``location``, ``message``, ``count``, ``first_seen``, ``last_seen``,
    ``process_kinds`` and ``correlation_ids``; its page in the ops console is
    ``reverse("admin:monitoring_errorkind_change", args=[kind.pk])``.
    """
    return list(ErrorKind.objects.filter(first_seen__gte=since).order_by("-first_seen", "-id")[:limit])
