"""The upstream bot's ``engagement_metrics`` table (SQLite) into ``Event`` rows, once per legacy row.

The upstream table (``src/utils/metrics_storage.py`` of the bot this project replaces) has the columns
``metric_id`` (primary key, text), ``user_id`` (the LINE user id), ``content_id``, ``interaction_type``,
``timestamp`` (ISO 8601), ``response_time_ms``, ``session_duration_ms``, ``engagement_score``,
``content_category``, ``template_id``, ``user_timezone``, ``platform``, ``metadata`` (JSON text) and
``created_at``. Its interaction types map to ours as follows:

======================  ===================================================================
``message_received``    ``delivered`` (upstream recorded it when the bot sent the user content)
``button_clicked``      ``postback``, button from ``metadata.button_id`` or ``button``
``content_shared``      ``postback``, button ``share``
``content_saved``       ``postback``, button ``save``
``feedback_provided``   ``postback``, button ``feedback`` (the rating kept, free text not)
``preference_updated``  ``postback``, button ``preference``
``message_opened``      not imported: LINE reports opens only in aggregate, so no per-user open
                        event exists here (upstream guessed them)
======================  ===================================================================

A timestamp without a zone is read as UTC. Rows with no key, no user, an unknown type, a bad
timestamp or bad metadata are reported and skipped; everything else is imported in batches, each in
one transaction with its :class:`~analytics.legacy_models.LegacyImport` keys, so a rerun (or a run
after a crash) imports nothing twice.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from analytics.legacy_models import LegacyImport
from analytics.models import Event
from conversations.models import LineUser

SOURCE = "engagement_metrics"
REQUIRED_COLUMNS = ("metric_id", "user_id", "interaction_type", "timestamp")
_LINE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BATCH = 1000
# Legacy fields kept in ``props`` (under these names); upstream's free-text feedback is not among them.
_KEPT_COLUMNS = {
    "content_id": "content_id",
    "content_category": "content_category",
    "template_id": "legacy_template_id",
    "user_timezone": "timezone",
    "platform": "platform",
    "engagement_score": "engagement_score",
    "response_time_ms": "response_time_ms",
}
_KEPT_METADATA = ("rating", "button_id", "delivery_time_ms")


class LegacyImportError(Exception):
    """The file cannot be imported at all (not SQLite, no such table, columns missing)."""


@dataclass(frozen=True)
class Mapping:
    type: str
    button: str = ""


_TYPES = {
    "message_received": Mapping(Event.Type.DELIVERED),
    "button_clicked": Mapping(Event.Type.POSTBACK, "button"),
    "content_shared": Mapping(Event.Type.POSTBACK, "share"),
    "content_saved": Mapping(Event.Type.POSTBACK, "save"),
    "feedback_provided": Mapping(Event.Type.POSTBACK, "feedback"),
    "preference_updated": Mapping(Event.Type.POSTBACK, "preference"),
}
_NOT_IMPORTED = {"message_opened": "opens are counted by LINE in aggregate only"}


@dataclass
class Report:
    read: int = 0
    imported: int = 0
    already_imported: int = 0
    not_imported: int = 0
    users_created: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"read {self.read}, imported {self.imported}, already imported {self.already_imported}, "
            f"not imported (no such event here) {self.not_imported}, bad {len(self.bad)}, "
            f"LINE users created {self.users_created}"
        )


@dataclass(frozen=True)
class Row:
    key: str
    line_user_id: str
    occurred_at: datetime
    mapping: Mapping
    props: dict[str, Any]
    button: str


class BadRow(ValueError):
    pass


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise LegacyImportError(f"{path} is not a file.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        columns = [r[1] for r in conn.execute("PRAGMA table_info(engagement_metrics)")]
    except sqlite3.DatabaseError as exc:
        raise LegacyImportError(f"{path} is not a readable SQLite database ({exc}).") from exc
    if not columns:
        raise LegacyImportError(f"{path} has no {SOURCE} table.")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise LegacyImportError(f"The {SOURCE} table lacks the column(s) {', '.join(missing)}.")
    conn.row_factory = sqlite3.Row
    return conn


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise BadRow("no timestamp")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRow(f"timestamp {value!r} is not ISO 8601") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _metadata(value: Any) -> dict:
    if value in (None, ""):
        return {}
    try:
        data = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise BadRow("metadata is not JSON") from exc
    if not isinstance(data, dict):
        raise BadRow("metadata is not a JSON object")
    return data


def parse(raw: sqlite3.Row) -> Row | None:
    """The row as an event to import, None for a type that has no event here, or BadRow saying why not."""
    data = dict(raw)
    key = str(data.get("metric_id") or "").strip()
    if not key or len(key) > 128:
        raise BadRow("no metric_id" if not key else "metric_id longer than 128 characters")
    line_user_id = str(data.get("user_id") or "").strip()
    if not _LINE_ID.match(line_user_id):
        raise BadRow(f"user_id {line_user_id[:70]!r} is not a LINE user id")
    interaction = str(data.get("interaction_type") or "").strip()
    if interaction in _NOT_IMPORTED:
        return None
    mapping = _TYPES.get(interaction)
    if mapping is None:
        raise BadRow(f"unknown interaction_type {interaction[:40]!r}")
    occurred_at = _timestamp(data.get("timestamp"))
    metadata = _metadata(data.get("metadata"))
    props: dict[str, Any] = {"source": "upstream", "interaction": interaction}
    for column, name in _KEPT_COLUMNS.items():
        if data.get(column) not in (None, ""):
            props[name] = data[column]
    for name in _KEPT_METADATA:
        if metadata.get(name) not in (None, ""):
            props[name] = metadata[name]
    button = mapping.button
    if button == "button":
        button = str(metadata.get("button_id") or metadata.get("button") or "button")
    return Row(key, line_user_id, occurred_at, mapping, props, button[:32])


def _rows(conn: sqlite3.Connection) -> Iterator[sqlite3.Row]:
    yield from conn.execute("SELECT * FROM engagement_metrics ORDER BY rowid")


def _users(rows: list[Row], report: Report) -> dict[str, int]:
    wanted = {r.line_user_id for r in rows}
    known = dict(LineUser.objects.filter(line_user_id__in=wanted).values_list("line_user_id", "pk"))
    first_seen = {}
    for r in rows:
        if r.line_user_id not in known:
            first_seen[r.line_user_id] = min(first_seen.get(r.line_user_id, r.occurred_at), r.occurred_at)
    # Users only the old bot knew: inactive until LINE tells us they follow (a follow or a message).
    created = LineUser.objects.bulk_create(
        [
            LineUser(line_user_id=uid, status=LineUser.Status.INACTIVE, first_seen_at=at, last_seen_at=at)
            for uid, at in first_seen.items()
        ],
        ignore_conflicts=True,
    )
    report.users_created += len(created)
    if first_seen:
        known.update(LineUser.objects.filter(line_user_id__in=first_seen).values_list("line_user_id", "pk"))
    return known


def _import_batch(rows: list[Row], report: Report) -> None:
    if not rows:
        return
    with transaction.atomic():
        done = set(
            LegacyImport.objects.filter(source=SOURCE, legacy_key__in=[r.key for r in rows]).values_list(
                "legacy_key", flat=True
            )
        )
        fresh = {r.key: r for r in rows if r.key not in done}
        report.already_imported += len(rows) - len(fresh)
        if not fresh:
            return
        users = _users(list(fresh.values()), report)
        events = Event.objects.bulk_create(
            [
                Event(
                    type=r.mapping.type,
                    occurred_at=r.occurred_at,
                    line_user_id=users[r.line_user_id],
                    button=r.button,
                    props=r.props,
                )
                for r in fresh.values()
            ]
        )
        LegacyImport.objects.bulk_create(
            [LegacyImport(source=SOURCE, legacy_key=key, event=e) for key, e in zip(fresh, events, strict=True)]
        )
        report.imported += len(events)


def legacy_analytics_import(*, path: Path, batch_size: int = _BATCH) -> Report:
    """Imports the file's ``engagement_metrics`` rows not imported before; returns what it did and skipped."""
    conn = _open(path)
    report = Report()
    batch: list[Row] = []
    seen: set[str] = set()
    try:
        for raw in _rows(conn):
            report.read += 1
            try:
                row = parse(raw)
            except BadRow as exc:
                report.bad.append((str(dict(raw).get("metric_id") or f"row {report.read}")[:128], str(exc)))
                continue
            if row is None:
                report.not_imported += 1
                continue
            if row.key in seen:
                report.bad.append((row.key, "metric_id repeated in the file"))
                continue
            seen.add(row.key)
            batch.append(row)
            if len(batch) >= batch_size:
                _import_batch(batch, report)
                batch = []
        _import_batch(batch, report)
    finally:
        conn.close()
    return report
