"""Row counts of every model in two databases, side by side; fails when any differ.

    python manage.py compare_databases sqlite:///var/db.sqlite3            # against the default database
    python manage.py compare_databases sqlite:///var/db.sqlite3 --target postgres://.../linebot

Used after moving the embedded default's SQLite database to PostgreSQL (dumpdata, then loaddata; see
docs/runbooks/sqlite-to-postgres.md) to check that every row arrived. Models excluded from the dump
are excluded here with the same ``--exclude`` (``app_label`` or ``app_label.Model``).
"""

from __future__ import annotations

import environ
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

# What the documented dump leaves out: migrate re-creates the first two, sessions are expendable.
DEFAULT_EXCLUDES = ("contenttypes", "auth.permission", "sessions")
_SCHEMES = ("sqlite://", "postgres://", "postgresql://", "pgsql://")


def _alias(name: str, url: str) -> str:
    if not url.startswith(_SCHEMES):
        raise CommandError(f"Not a database URL: {url!r} (sqlite:///path or postgres://...).")
    try:
        config = environ.Env.db_url_config(url)
    except (KeyError, ValueError) as exc:
        raise CommandError(f"Not a database URL: {url!r}.") from exc
    # The default's connection options belong to its engine (a pool, server-side binding), not to this URL's.
    connections.databases[name] = {**connections["default"].settings_dict, "OPTIONS": {}, **config}
    return name


def _excluded(model, excludes: set[str]) -> bool:
    return model._meta.app_label in excludes or model._meta.label_lower in excludes


class Command(BaseCommand):
    help = "Compare row counts of every model between two databases (e.g. after moving SQLite to PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("source", help="Database URL of the source (sqlite:///path or postgres://...)")
        parser.add_argument("--target", help="Database URL of the target; the default database if omitted")
        parser.add_argument(
            "--exclude",
            "-e",
            action="append",
            default=None,
            help=f"app_label or app_label.Model to leave out (default: {', '.join(DEFAULT_EXCLUDES)})",
        )

    def handle(self, *args, source, target=None, exclude=None, **options):
        excludes = {e.lower() for e in (exclude if exclude is not None else DEFAULT_EXCLUDES)}
        source_alias = _alias("compare_source", source)
        target_alias = _alias("compare_target", target) if target else "default"
        differing = []
        try:
            for model in sorted(apps.get_models(), key=lambda m: m._meta.label_lower):
                if not model._meta.managed or model._meta.proxy or _excluded(model, excludes):
                    continue
                counts = [model._base_manager.using(alias).count() for alias in (source_alias, target_alias)]
                mark = "" if counts[0] == counts[1] else "  DIFFERS"
                self.stdout.write(f"{model._meta.label:45} {counts[0]:>10} {counts[1]:>10}{mark}")
                if mark:
                    differing.append(model._meta.label)
        finally:
            for alias in ("compare_source", "compare_target"):
                if alias in connections.databases:
                    connections[alias].close()
                    del connections.databases[alias]
        if differing:
            raise CommandError(f"Row counts differ for {len(differing)} model(s): {', '.join(differing)}.")
        self.stdout.write("All row counts match.")
