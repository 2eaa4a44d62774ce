"""The audit log on erasure: entries that named the LINE user keep their place but name a tombstone.

The audit log is append-only, in the ORM and (on PostgreSQL) in the database. Erasure is its one
exception: the transaction declares which id it erases and the ``erased:…`` id replacing it, and the
database then lets a row change in exactly that way (migration 0012). The erasure is itself audited,
with counts and never the LINE id. Registered with :mod:`core.personal_data`.
"""

from __future__ import annotations

from django.db import connection, models

from accounts.models import AuditEvent
from core import personal_data

_FIELDS = ["target", "details", "user_agent"]


def _rewrite(pk, values) -> None:
    # AuditEventQuerySet refuses updates; only this redaction goes past it, through the plain queryset.
    models.QuerySet(AuditEvent).filter(pk=pk).update(**values)


def erase(subject: personal_data.Subject) -> dict[str, int]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('linebot.audit_erase_needle', %s, true),"
                " set_config('linebot.audit_erase_replacement', %s, true)",
                [subject.line_user_id, subject.replacement],
            )
    rows = models.QuerySet(AuditEvent).all()
    try:
        redacted = personal_data.redact(rows, _FIELDS, subject.line_user_id, subject.replacement, updater=_rewrite)
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('linebot.audit_erase_needle', '', true),"
                    " set_config('linebot.audit_erase_replacement', '', true)"
                )
    return {"audit_events_redacted": redacted}


def register() -> None:
    personal_data.register(personal_data.Provider("accounts", export=lambda subject: {}, erase=erase, order=90))
