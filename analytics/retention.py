"""Events as personal data: exported with the user, unlinked from them on erasure, anonymised when old.

An event's row is what rollups and re-computations count, so it is never deleted here: erasure and
retention only cut its link to the LINE user (``line_user`` NULL) and empty its ``props``. Registered
with :mod:`core.personal_data` from ``AnalyticsConfig.ready``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from analytics.models import Event
from core import config, personal_data
from core.config.registry import Definition, from_settings
from core.config.registry import register as register_setting


def export(subject: personal_data.Subject) -> dict:
    events = Event.objects.filter(line_user_id=subject.pk).order_by("occurred_at", "id")
    return {
        "events": [
            {
                "occurred_at": e.occurred_at.isoformat(),
                "type": e.type,
                "campaign": e.campaign_id,
                "variant": e.variant,
                "rich_message": e.rich_message_id,
                "button": e.button,
                "props": e.props,
            }
            for e in events.iterator()
        ]
    }


def erase(subject: personal_data.Subject) -> dict[str, int]:
    # Events are append-only; the one change the database allows is cutting the link to the user,
    # and the props go with it. Other users' events are never rewritten.
    return {"events_unlinked": Event.objects.filter(line_user_id=subject.pk).update(line_user=None, props={})}


def retain(now: datetime) -> dict[str, int]:
    days = config.get("retention.event_days")
    if days <= 0:
        return {"events": 0}
    old = Event.objects.filter(occurred_at__lt=now - timedelta(days=days), line_user__isnull=False)
    return {"events": personal_data.update_in_batches(old, {"line_user": None, "props": {}})}


def register() -> None:
    register_setting(
        Definition(
            "retention.event_days",
            int,
            from_settings("RETENTION_EVENT_DAYS"),
            "Days an engagement event stays linked to its LINE user; older events count anonymously. 0 keeps the link.",
            critical=True,
            min_value=0,
        )
    )
    personal_data.register(personal_data.Provider("analytics", export=export, erase=erase, retain=retain, order=30))
