"""What analytics hears from lower apps: the worker's handling of LINE events becomes engagement events."""

from __future__ import annotations

from django.db import DatabaseError
from django.dispatch import receiver

from analytics.models import Event
from analytics.services import event_record
from conversations.signals import line_event_handled
from core.logging import get_logger

log = get_logger(__name__)

_TYPES = {"message": Event.Type.MESSAGE, "follow": Event.Type.FOLLOW, "unfollow": Event.Type.UNFOLLOW}


@receiver(line_event_handled, dispatch_uid="analytics-record-line-event")
def record_line_event(sender, *, event_type, user, occurred_at=None, props=None, first_attempt=False, **kwargs) -> None:
    """One event per LINE event, even when the worker handles it twice (a retry keeps LINE's timestamp)."""
    kind = _TYPES.get(event_type)
    if kind is None or user is None:
        return
    try:
        # Only a retry can find its event recorded already: the first attempt skips the look.
        if (
            not first_attempt
            and occurred_at is not None
            and Event.objects.filter(line_user_id=user.pk, occurred_at=occurred_at, type=kind).exists()
        ):
            return
    except DatabaseError:
        log.exception("analytics_event_not_recorded", type=kind)
        return
    event_record(type=kind, line_user=user, occurred_at=occurred_at, props=props or {})
