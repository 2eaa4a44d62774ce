"""The one way to record an engagement event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from analytics.models import Event
from core.db import alone_or_in_savepoint
from core.logging import get_logger
from core.raw_sql import row_insert

log = get_logger(__name__)

_PROPS_MAX_KEYS = 20
# A tap on a rich message counts for the campaign that delivered it to the user within this long.
ATTRIBUTION_WINDOW = timedelta(days=30)


def _delivery_of(*, line_user, rich_message, before: datetime) -> tuple[int | None, str]:
    """The campaign and variant that last delivered ``rich_message`` to ``line_user``, if any did."""
    if line_user is None or rich_message is None or getattr(line_user, "pk", None) is None:
        return None, ""
    delivered = (
        Event.objects.filter(
            line_user_id=line_user.pk,
            type=Event.Type.DELIVERED,
            rich_message_id=rich_message.pk,
            occurred_at__range=(before - ATTRIBUTION_WINDOW, before),
        )
        .exclude(campaign_id=None)
        .order_by("-occurred_at")
        .values_list("campaign_id", "variant")
        .first()
    )
    return delivered if delivered else (None, "")


def event_record(
    *,
    type: str,
    line_user=None,
    occurred_at: datetime | None = None,
    campaign_id: int | None = None,
    variant: str = "",
    rich_message=None,
    template_version=None,
    button: str = "",
    props: dict[str, Any] | None = None,
) -> Event | None:
    """Appends one event. A failure is logged and swallowed: analytics never breaks what it observes."""
    if type not in Event.Type.values:
        raise ValueError(f"unknown event type {type!r}")
    props = dict(list((props or {}).items())[:_PROPS_MAX_KEYS])
    when = occurred_at or timezone.now()
    try:
        if campaign_id is None and type in (Event.Type.POSTBACK, Event.Type.LINK_CLICK):
            with transaction.atomic():
                campaign_id, variant = _delivery_of(line_user=line_user, rich_message=rich_message, before=when)
    except DatabaseError:
        log.exception("analytics_event_not_attributed", type=type)
        campaign_id, variant = None, variant
    event = Event(
        type=type,
        line_user=line_user,
        campaign_id=campaign_id,
        variant=variant[:32],
        rich_message=rich_message,
        template_version=template_version
        if template_version is not None
        else getattr(rich_message, "template_version", None),
        button=button[:32],
        props=props,
    )
    event.occurred_at = when
    try:
        with alone_or_in_savepoint():
            # One is recorded with nearly every answer: a statement built once, not the ORM's save.
            row_insert(event, connection)
    except DatabaseError:
        log.exception("analytics_event_not_recorded", type=type)
        return None
    return event


_COPY_COLUMNS = (
    "occurred_at",
    "type",
    "line_user_id",
    "campaign_id",
    "variant",
    "rich_message_id",
    "template_version_id",
    "button",
    "props",
)


def _copy_events(rows, props: dict) -> None:
    """COPY instead of INSERT: building and binding an INSERT of 500 model instances costs several times the
    CPU of the whole multicast call it records (docs/PERFORMANCE.md, Campaigns)."""
    table = Event._meta.db_table
    shared = Jsonb(props)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row((*row, "", shared))


def events_record_bulk(
    *,
    type: str,
    line_user_ids: list[int],
    occurred_at: datetime | None = None,
    campaign_id: int | None = None,
    variant: str = "",
    rich_message_id: int | None = None,
    template_version_id: int | None = None,
    props: dict[str, Any] | None = None,
    batch_size: int = 1000,
) -> int:
    """Appends one event of ``type`` per LINE user (by ``LineUser`` pk), in bulk inserts; returns how many.

    Unlike :func:`event_record` a failure is not swallowed: bulk callers (campaign delivery) record events
    in the same transaction as what they describe, so the two stand or fall together.
    """
    if type not in Event.Type.values:
        raise ValueError(f"unknown event type {type!r}")
    if not line_user_ids:
        return 0
    occurred_at = occurred_at or timezone.now()
    props = dict(list((props or {}).items())[:_PROPS_MAX_KEYS])
    if connection.vendor == "postgresql":
        _copy_events(
            (
                (occurred_at, type, line_user_id, campaign_id, variant[:32], rich_message_id, template_version_id)
                for line_user_id in line_user_ids
            ),
            props,
        )
        return len(line_user_ids)
    events = [
        Event(
            type=type,
            occurred_at=occurred_at,
            line_user_id=line_user_id,
            campaign_id=campaign_id,
            variant=variant[:32],
            rich_message_id=rich_message_id,
            template_version_id=template_version_id,
            props=props,
        )
        for line_user_id in line_user_ids
    ]
    Event.objects.bulk_create(events, batch_size=batch_size)
    return len(events)


def events_record_from_query(
    *,
    type: str,
    line_users_sql: str,
    params: list[Any],
    occurred_at: datetime | None = None,
    campaign_id: int | None = None,
    variant: str = "",
    rich_message_id: int | None = None,
    template_version_id: int | None = None,
    props: dict[str, Any] | None = None,
) -> int:
    """Appends one event of ``type`` per row of ``line_users_sql`` (a statement whose rows have one column,
    ``line_user_id``: a select, or an ``UPDATE … RETURNING line_user_id``); returns how many.

    On PostgreSQL one ``WITH … INSERT … SELECT``: the statement and its events stand or fall together, and not
    one row passes through Python (a multicast chunk's recipients marked sent and their DELIVERED events, say).
    """
    if type not in Event.Type.values:
        raise ValueError(f"unknown event type {type!r}")
    occurred_at = occurred_at or timezone.now()
    props = dict(list((props or {}).items())[:_PROPS_MAX_KEYS])
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(line_users_sql, params)
            line_user_ids = [row[0] for row in cursor.fetchall()]
        return events_record_bulk(
            type=type,
            line_user_ids=line_user_ids,
            occurred_at=occurred_at,
            campaign_id=campaign_id,
            variant=variant,
            rich_message_id=rich_message_id,
            template_version_id=template_version_id,
            props=props,
        )
    columns = ", ".join(_COPY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH users AS ({line_users_sql}) INSERT INTO {Event._meta.db_table} ({columns}) "  # noqa: S608
            "SELECT %s, %s, users.line_user_id, %s, %s, %s, %s, '', %s FROM users",
            [
                *params,
                occurred_at,
                type,
                campaign_id,
                variant[:32],
                rich_message_id,
                template_version_id,
                Jsonb(props),
            ],
        )
        return cursor.rowcount
