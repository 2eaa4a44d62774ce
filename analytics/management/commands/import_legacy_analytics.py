"""``import_legacy_analytics <sqlite file>``: the upstream bot's engagement metrics as events, idempotently."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics.legacy_import import LegacyImportError, legacy_analytics_import

_SHOWN_BAD = 50


class Command(BaseCommand):
    help = "Import the upstream bot's engagement_metrics table (SQLite) into analytics events; safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("sqlite_file", help="The upstream bot's SQLite file (data/engagement_metrics.db)")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, sqlite_file, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            report = legacy_analytics_import(path=Path(sqlite_file), batch_size=batch_size)
        except LegacyImportError as exc:
            raise CommandError(str(exc)) from exc
        for key, reason in report.bad[:_SHOWN_BAD]:
            self.stderr.write(f"skipped {key}: {reason}")
        if len(report.bad) > _SHOWN_BAD:
            self.stderr.write(f"... and {len(report.bad) - _SHOWN_BAD} more bad rows")
        self.stdout.write(report.summary())
