from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import Counter

from core.errors import ValidationError
from core.logging import get_logger
from monitoring.alert_services import notifications_queue
from monitoring.fingerprints import Fingerprint
from monitoring.models import Alert, AlertEvent, ErrorKind

log = get_logger(__name__)

ERROR_KINDS_NEW = Counter("errors_new_kinds_total", "Kinds of error seen for the first time (new fingerprints)")

_MESSAGE_CHARS = 2000
_TRACEBACK_CHARS = 20_000


def alert_raise(*, kind: str, severity: str, message: str, details: dict | None = None) -> Alert:
    if severity not in Alert.Severity.values:
        raise ValidationError(
            f"unknown alert severity {severity!r}; expected one of {', '.join(Alert.Severity.values)}"
        )
    if not kind:
        raise ValidationError("an alert needs a kind")
    now = timezone.now()
    alert = Alert.objects.create(
        kind=kind[:64],
        severity=severity,
        message=message[:500],
        details=json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder, default=str)),
        state=Alert.State.FIRING,
        created_at=now,
        fired_at=now,
    )
    AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.FIRED, message=alert.message, at=now)
    log.warning("alert_raised", kind=alert.kind, severity=severity, alert_id=alert.pk)
    # Channels that take alerts raised by code hear of it through the rules' notification path.
    notifications_queue([("firing", alert)], now=now)
    return alert


def error_kind_record(
    *,
    fingerprint: Fingerprint,
    message: str,
    traceback: str,
    count: int,
    first_seen: datetime,
    last_seen: datetime,
    process_kinds: Iterable[str],
    correlation_ids: list[str],
) -> bool:
    """Adds ``count`` occurrences to the kind of error, creating it if new; returns whether it was new.

    ``correlation_ids`` are the occurrences' ids, newest first; the kind keeps the latest ten.
    One statement on PostgreSQL, so processes recording the same kind at once add up exactly.
    """
    if count < 1:
        raise ValidationError("an error kind is recorded with at least one occurrence")
    if first_seen > last_seen:
        raise ValidationError("first_seen is after last_seen")
    ids = list(dict.fromkeys(str(i)[:128] for i in correlation_ids if i))[: ErrorKind.RECENT_CORRELATION_IDS]
    values = {
        "fingerprint": fingerprint.digest,
        "exception_type": fingerprint.exception_type[:255],
        "location": fingerprint.location[:1000],
        "message": message[:_MESSAGE_CHARS],
        "traceback": traceback[-_TRACEBACK_CHARS:],
        "count": count,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "process_kinds": sorted(set(process_kinds)),
        "correlation_ids": ids,
    }
    record = _upsert_postgresql if connection.vendor == "postgresql" else _upsert_portable
    created = record(values)
    if created:
        ERROR_KINDS_NEW.inc()
    return created


_UPSERT = """
INSERT INTO {table} AS kind
    (fingerprint, exception_type, location, message, traceback, count, first_seen, last_seen,
     process_kinds, correlation_ids)
VALUES (%(fingerprint)s, %(exception_type)s, %(location)s, %(message)s, %(traceback)s, %(count)s,
        %(first_seen)s, %(last_seen)s, %(process_kinds)s::jsonb, %(correlation_ids)s::jsonb)
ON CONFLICT (fingerprint) DO UPDATE SET
    count = kind.count + EXCLUDED.count,
    first_seen = LEAST(kind.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(kind.last_seen, EXCLUDED.last_seen),
    message = CASE WHEN EXCLUDED.last_seen >= kind.last_seen THEN EXCLUDED.message ELSE kind.message END,
    traceback = CASE WHEN EXCLUDED.last_seen >= kind.last_seen THEN EXCLUDED.traceback ELSE kind.traceback END,
    process_kinds = (
        SELECT COALESCE(jsonb_agg(DISTINCT value ORDER BY value), '[]'::jsonb)
        FROM jsonb_array_elements_text(kind.process_kinds || EXCLUDED.process_kinds)
    ),
    correlation_ids = (
        SELECT COALESCE(jsonb_agg(value ORDER BY position), '[]'::jsonb)
        FROM (
            SELECT value, MIN(position) AS position
            FROM jsonb_array_elements_text(EXCLUDED.correlation_ids || kind.correlation_ids)
                WITH ORDINALITY AS ids(value, position)
            GROUP BY value
            ORDER BY MIN(position)
            LIMIT %(keep)s
        ) AS recent
    )
RETURNING (xmax = 0) AS created
"""


def _upsert_postgresql(values: dict) -> bool:
    params = {
        **values,
        "process_kinds": json.dumps(values["process_kinds"]),
        "correlation_ids": json.dumps(values["correlation_ids"]),
        "keep": ErrorKind.RECENT_CORRELATION_IDS,
    }
    sql = _UPSERT.format(table=connection.ops.quote_name(ErrorKind._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.fetchone()[0])


def _upsert_portable(values: dict) -> bool:
    """The same merge for databases without the PostgreSQL statement (the SQLite default), under a row lock."""
    with transaction.atomic():
        kind, created = ErrorKind.objects.select_for_update().get_or_create(
            fingerprint=values["fingerprint"], defaults=values
        )
        if created:
            return True
        if values["last_seen"] >= kind.last_seen:
            kind.message, kind.traceback, kind.last_seen = values["message"], values["traceback"], values["last_seen"]
        kind.first_seen = min(kind.first_seen, values["first_seen"])
        kind.count += values["count"]
        kind.process_kinds = sorted(set(kind.process_kinds) | set(values["process_kinds"]))
        merged = dict.fromkeys([*values["correlation_ids"], *kind.correlation_ids])
        kind.correlation_ids = list(merged)[: ErrorKind.RECENT_CORRELATION_IDS]
        kind.save()
        return False
