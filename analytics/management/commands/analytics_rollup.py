"""Recomputes the analytics rollups of a range of days, or brings them up to date.

python manage.py analytics_rollup --from 2026-11-01 --to 2026-11-30
python manage.py analytics_rollup            # what the beat task does: the events added since the last run
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics import rollups


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Recompute analytics rollups for a range of days (in ANALYTICS_TIME_ZONE), or update them incrementally."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", help="Last day, YYYY-MM-DD (default: the first day).")

    def handle(self, *args, start=None, end=None, **options):
        if start is None:
            if end is not None:
                raise CommandError("--to needs --from")
            result = rollups.rollups_update()
            self.stdout.write(f"updated {result['days']} day(s), {result['rows']} row(s)")
            return
        first = _day(start)
        last = _day(end) if end else first
        if last < first:
            raise CommandError("--to is before --from")
        rows = rollups.rollups_recompute(start=first, end=last)
        self.stdout.write(f"recomputed {(last - first).days + 1} day(s) from {first} to {last}: {rows} row(s)")
