"""The registry of personal data: each app says how to export, erase and age out what it holds on a LINE user.

The data of one LINE user is spread over many apps (conversations, rich messages, analytics, the audit
log, monitoring), and lower apps may not import higher ones. So each app registers a :class:`Provider`
from its ``AppConfig.ready`` and the privacy services (``conversations.privacy``) walk the registry.

Also here: the helpers every provider needs to find a user's id inside free text and JSON columns, and
:func:`traces`, which searches every table's text and JSON columns for a string, so that an erasure can
be checked rather than believed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.functions import Cast


@dataclass(frozen=True)
class Subject:
    """The LINE user whose data is exported or erased."""

    pk: int
    line_user_id: str
    # What replaces the LINE user id wherever a row must stay (aggregates, append-only logs).
    replacement: str = ""


@dataclass(frozen=True)
class Provider:
    name: str
    export: Callable[[Subject], dict[str, Any]]
    # Deletes or anonymises; returns {what: how many rows}.
    erase: Callable[[Subject], dict[str, int]]
    # Ages out data older than the retention periods; returns {what: how many rows}.
    retain: Callable[[datetime], dict[str, int]] | None = None
    # Erasers run in ascending order: the row everything points at (the LINE user) goes last.
    order: int = 100


_providers: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    _providers[provider.name] = provider


def providers() -> list[Provider]:
    return sorted(_providers.values(), key=lambda p: (p.order, p.name))


# --- finding a string in text and JSON ------------------------------------------------------------
def text_fields(model: type[models.Model]) -> list[models.Field]:
    """The concrete columns of ``model`` that can hold free text: char, text and JSON fields."""
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField) and not f.choices
    ]


def containing(queryset: models.QuerySet, field_name: str, needle: str) -> models.QuerySet:
    """The rows whose ``field_name`` (text or JSON, cast to text) contains ``needle``."""
    field = queryset.model._meta.get_field(field_name)
    if isinstance(field, models.JSONField):
        alias = f"_{field_name}_as_text"
        return queryset.annotate(**{alias: Cast(field_name, models.TextField())}).filter(
            **{f"{alias}__contains": needle}
        )
    return queryset.filter(**{f"{field_name}__contains": needle})


def replaced(value: Any, needle: str, replacement: str) -> Any:
    """``value`` (a string or decoded JSON) with every occurrence of ``needle`` replaced, keys included."""
    if isinstance(value, str):
        return value.replace(needle, replacement)
    if isinstance(value, list):
        return [replaced(item, needle, replacement) for item in value]
    if isinstance(value, dict):
        return {replaced(k, needle, replacement): replaced(v, needle, replacement) for k, v in value.items()}
    return value


def redact(queryset: models.QuerySet, field_names: list[str], needle: str, replacement: str, *, updater=None) -> int:
    """Replaces ``needle`` in the given text/JSON columns of the rows of ``queryset``; returns rows changed.

    ``updater(pk, values)`` writes one row; by default a queryset update (no ``save()``, no signals).
    """
    if not needle:
        return 0
    model = queryset.model
    write = updater or (lambda pk, values: model._default_manager.filter(pk=pk).update(**values))
    matches: dict[Any, dict[str, Any]] = {}
    for name in field_names:
        for pk, value in containing(queryset, name, needle).values_list("pk", name).iterator():
            matches.setdefault(pk, {})[name] = replaced(value, needle, replacement)
    # One write per row, every column at once: a row is never seen half redacted.
    for pk, values in matches.items():
        write(pk, values)
    return len(matches)


def update_in_batches(queryset: models.QuerySet, values: dict[str, Any], *, batch_size: int = 5000) -> int:
    """Updates the rows of ``queryset`` in batches of primary keys; returns how many.

    ``values`` must take a row out of ``queryset`` (as blanking a text the queryset excludes when
    blank does), so that each round finds only rows not done yet. Short transactions, no long locks.
    """
    model = queryset.model
    done = 0
    while True:
        pks = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return done
        done += model._base_manager.filter(pk__in=pks).update(**values)


@dataclass
class Trace:
    model: str
    field: str
    rows: int


@dataclass
class TraceReport:
    needle: str
    traces: list[Trace] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.traces)


def _searchable_models() -> Iterator[type[models.Model]]:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            yield model


def traces(needle: str, *, using: str = "default") -> TraceReport:
    """Every text and JSON column of every table that still contains ``needle``, with how many rows."""
    report = TraceReport(needle=needle)
    for model in _searchable_models():
        base = models.QuerySet(model).using(using)
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.CharField | models.TextField | models.JSONField):
                continue
            count = containing(base, f.name, needle).count()
            if count:
                report.traces.append(Trace(model=model._meta.label, field=f.name, rows=count))
    return report
