"""Instants given as text by API clients and forms: ISO 8601 in, an aware datetime in UTC out."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def parse_moment(raw: str, *, naive_zone=UTC) -> datetime | None:
    """The instant ``raw`` names, in UTC, or None when it names none.

    A time without an offset is read in ``naive_zone``. UTC because PostgreSQL refuses offsets beyond ±15:59
    that ISO 8601 and Python allow; the instant is the same.
    """
    try:
        moment = parse_datetime(raw)
        if moment is None:
            return None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, naive_zone)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # a 31st of February, or an instant before year 1 once in UTC
        return None
