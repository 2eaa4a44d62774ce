"""Registering what the LINE Insight sync follows: request ids of broadcasts and narrowcasts, and unit names of
pushes and multicasts. Called by whatever sends them (campaigns), right after LINE accepted the send.

Both are safe to call again for the same send; the figures themselves are fetched by :mod:`analytics.insight_sync`.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction

from analytics.insight_models import TrackedRequest, TrackedUnit, UnitSnapshot
from core.errors import ConflictError, ValidationError
from core.logging import get_logger

log = get_logger(__name__)

_REQUEST_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
# LINE's rule for customAggregationUnits names.
UNIT_NAME = re.compile(r"^[a-zA-Z0-9_]{1,30}$")


def _check_moment(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(f"{name} must be a datetime with a time zone.", details={"field": name})


def _check_campaign(campaign_id: int | None) -> None:
    if campaign_id is not None and (isinstance(campaign_id, bool) or not isinstance(campaign_id, int)):
        raise ValidationError("campaign_id must be a whole number.", details={"field": "campaign_id"})


def _claim(tracked, campaign_id: int | None, what: str) -> None:
    if campaign_id is None or tracked.campaign_id == campaign_id:
        return
    if tracked.campaign_id is not None:
        raise ConflictError(
            f"{what} is already followed for campaign {tracked.campaign_id}.",
            details={"campaign_id": tracked.campaign_id},
        )
    tracked.campaign_id = campaign_id


def insight_track_request(
    request_id: str, *, sent_at: datetime, kind: str, campaign_id: int | None = None
) -> TrackedRequest:
    """Follows the figures of one broadcast or narrowcast (``kind``) until LINE stops updating them, 14 days
    after ``sent_at``."""
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise ValidationError("request_id must be LINE's request id (letters, digits and dashes, at most 64).")
    if kind not in TrackedRequest.Kind.values:
        raise ValidationError(f"kind must be one of {', '.join(TrackedRequest.Kind.values)}.", details={"kind": kind})
    _check_moment("sent_at", sent_at)
    _check_campaign(campaign_id)
    with transaction.atomic():
        tracked, created = TrackedRequest.objects.select_for_update().get_or_create(
            request_id=request_id, defaults={"kind": kind, "sent_at": sent_at, "campaign_id": campaign_id}
        )
        if created:
            log.info("insight_request_tracked", request_id=request_id, kind=kind, campaign_id=campaign_id)
            return tracked
        if tracked.kind != kind:
            raise ConflictError(f"Request {request_id} is already followed as a {tracked.kind}.")
        _claim(tracked, campaign_id, f"Request {request_id}")
        tracked.sent_at = min(tracked.sent_at, sent_at)
        tracked.save(update_fields=["campaign_id", "sent_at"])
    return tracked


def insight_track_unit(unit: str, *, first_sent: datetime, campaign_id: int | None = None) -> TrackedUnit:
    """Follows the figures of the pushes and multicasts sent with ``customAggregationUnits: [unit]``.

    Call it for every send with the unit: the sends LINE counts together span from the first one, for a period of
    at most 30 days, and figures change until 14 days after the last one.
    """
    if not isinstance(unit, str) or not UNIT_NAME.match(unit):
        raise ValidationError("unit must be 1 to 30 letters, digits or underscores.", details={"unit": unit})
    _check_moment("first_sent", first_sent)
    _check_campaign(campaign_id)
    with transaction.atomic():
        tracked, created = TrackedUnit.objects.select_for_update().get_or_create(
            unit=unit, defaults={"first_sent": first_sent, "last_sent": first_sent, "campaign_id": campaign_id}
        )
        if created:
            log.info("insight_unit_tracked", unit=unit, campaign_id=campaign_id)
            return tracked
        _claim(tracked, campaign_id, f"Unit {unit}")
        tracked.first_sent = min(tracked.first_sent, first_sent)
        if first_sent > tracked.last_sent:
            tracked.last_sent = first_sent
            # A later send changes the figures again: follow them again (the sync retires it when due).
            tracked.finished_at = None
            tracked.save(update_fields=["campaign_id", "first_sent", "last_sent", "finished_at"])
            UnitSnapshot.objects.filter(unit=tracked).update(final=False)
        else:
            tracked.save(update_fields=["campaign_id", "first_sent"])
    return tracked
