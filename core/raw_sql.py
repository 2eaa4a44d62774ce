"""Raw statements built from a model's own names, and their rows read back into instances.

For the few statements the ORM cannot say in one round trip (``INSERT … ON CONFLICT … RETURNING``,
an update that also takes a lock, rows of two tables written by one statement), and for writes on the answer's
path that the ORM would build anew every time. Names come from the model and are quoted; values are always bound.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connections, models


def insert_statement(model: type[models.Model], db, *, rows: int = 1) -> tuple[str, list[models.Field]]:
    """``INSERT INTO <table> (<columns>) VALUES (%s, …)`` for every concrete field but the key, and those fields.

    ``rows`` rows of values follow one another, each bound with :func:`insert_values`.
    """
    quote = db.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * rows)
    # Names from the model, values bound (bandit B608, ruff S608).
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values}", fields  # noqa: S608  # nosec B608


def insert_values(row: models.Model, fields: list[models.Field], db) -> list[Any]:
    """``row``'s values for :func:`insert_statement`, prepared as a ``save()`` would prepare them."""
    return _prepared(row, fields, db, add=True)


def update_statement(model: type[models.Model], names: tuple[str, ...], db) -> tuple[str, list[models.Field]]:
    """``UPDATE <table> SET <column> = %s, … WHERE <key> = %s`` for the named fields, and those fields."""
    quote = db.ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Names from the model, values bound (bandit B608, ruff S608).
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s", fields  # noqa: S608  # nosec B608


def update_values(row: models.Model, fields: list[models.Field], db) -> list[Any]:
    """``row``'s values for :func:`update_statement`, its key last, prepared as ``save(update_fields=…)`` would."""
    return [*_prepared(row, fields, db, add=False), row.pk]


# --- values ---------------------------------------------------------------------------------------
# Preparing a value the field's own way (pre_save, get_db_prep_save, get_db_prep_value, get_prep_value, to_python)
# cost a quarter of the webhook's ack in CPU, for values that come out as they went in: a string for a
# CharField, an int for an IntegerField. For the field classes below, and values of the kinds named, Django's
# preparation returns the value itself (tests/core/test_raw_sql.py compares the two ways on every model that
# writes through here); any other field or value still takes the field's own way.
def _str(value) -> bool:
    return value is None or isinstance(value, str)


def _int(value) -> bool:
    return value is None or type(value) is int


def _bool(value) -> bool:
    return value is None or type(value) is bool


def _aware(value) -> bool:
    return value is None or (type(value) is datetime and value.tzinfo is not None)


def _uuid(value) -> bool:
    return value is None or type(value) is uuid.UUID


_PLAIN: dict[type[models.Field], Callable[[Any], bool]] = {
    models.CharField: _str,
    models.TextField: _str,
    models.BooleanField: _bool,
    models.IntegerField: _int,
    models.BigIntegerField: _int,
    models.SmallIntegerField: _int,
    models.PositiveIntegerField: _int,
    models.PositiveSmallIntegerField: _int,
    models.PositiveBigIntegerField: _int,
}


def _plain_test(field: models.Field, db) -> Callable[[Any], bool] | None:
    """Which of the field's values its preparation leaves as they are; None for a field to prepare always."""
    kind = type(field)
    if kind is models.ForeignKey:
        target = type(field.target_field)
        return _int if target in (models.AutoField, models.BigAutoField) else None
    if kind is models.DateTimeField:
        # On PostgreSQL a datetime goes to the driver as it is; other backends turn it into text.
        plain = db.vendor == "postgresql" and not field.auto_now and not field.auto_now_add
        return _aware if plain else None
    if kind is models.UUIDField:
        return _uuid if db.features.has_native_uuid_field else None
    return _PLAIN.get(kind)


_tests: dict[tuple[int, str], tuple[list[models.Field], list]] = {}


def _prepared(row: models.Model, fields: list[models.Field], db, *, add: bool) -> list[Any]:
    # The statement builders hand out one list of fields per statement, so the tests are kept per list.
    key = (id(fields), db.alias)
    cached = _tests.get(key)
    if cached is None or cached[0] is not fields:
        if len(_tests) > 256:  # a caller that builds its statement anew each time must not grow this for ever
            _tests.clear()
        cached = _tests[key] = (fields, [_plain_test(field, db) for field in fields])
    values = []
    for field, plain in zip(fields, cached[1], strict=True):
        if plain is not None:
            value = getattr(row, field.attname)
            if plain(value):
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(row, add=add), db))
    return values


@functools.cache
def _row_update_statement(model: type[models.Model], names: tuple[str, ...], alias: str):
    return update_statement(model, names, connections[alias])


def row_update(row: models.Model, names: tuple[str, ...], db) -> int:
    """Writes the named fields of ``row`` as ``save(update_fields=names)`` would; the number of rows changed.

    The statement is built once per model and fields: the ORM builds and compiles its query on every save, which
    costs about as much CPU as the round trip itself. No model signals are sent.
    """
    sql, fields = _row_update_statement(type(row), tuple(names), db.alias)
    with db.cursor() as cursor:
        cursor.execute(sql, update_values(row, fields, db))
        return cursor.rowcount


@functools.cache
def _row_update_then_statement(model: type[models.Model], names: tuple[str, ...], alias: str, then: str):
    update, fields = _row_update_statement(model, names, alias)
    # Every part of a WITH runs to completion, read or not (PostgreSQL).
    return f"WITH updated AS ({update}) SELECT {then}", fields


def row_update_then(row: models.Model, names: tuple[str, ...], db, *, then: str, params: list[Any]) -> Any:
    """:func:`row_update`, and in the same statement the value of the SQL expression ``then`` (PostgreSQL).

    For a write that ends a piece of work and a statement that must follow it anyway, in one round trip.
    ``then`` must be a constant: the statement is built once for each.
    """
    sql, fields = _row_update_then_statement(type(row), tuple(names), db.alias, then)
    with db.cursor() as cursor:
        cursor.execute(sql, update_values(row, fields, db) + list(params))
        return cursor.fetchone()[0]


@functools.cache
def _insert_returning_statement(model: type[models.Model], alias: str) -> tuple[str, list[models.Field]]:
    db = connections[alias]
    insert, fields = insert_statement(model, db)
    return f"{insert} RETURNING {db.ops.quote_name(model._meta.pk.column)}", fields


def row_insert(row: models.Model, db) -> models.Model:
    """Inserts ``row`` as ``save(force_insert=True)`` would, and sets its key.

    Built once per model, like :func:`row_update`, for inserts on the answer's path. The model's ``save()`` and
    its signals are not called: only for models whose ``save()`` adds nothing to an insert.
    """
    if not db.features.can_return_columns_from_insert:
        row.save(force_insert=True, using=db.alias)
        return row
    sql, fields = _insert_returning_statement(type(row), db.alias)
    with db.cursor() as cursor:
        cursor.execute(sql, insert_values(row, fields, db))
        row.pk = cursor.fetchone()[0]
    row._state.adding, row._state.db = False, db.alias
    return row


@functools.cache
def _row_converters(model: type[models.Model], alias: str) -> tuple[list[str], list[tuple[int, Any, list]]]:
    """The attribute names of a model's concrete fields, and each converted column's index, column and converters."""
    db = connections[alias]
    meta = model._meta
    converted = []
    for index, field in enumerate(meta.concrete_fields):
        column = field.get_col(meta.db_table)
        converters = db.ops.get_db_converters(column) + field.get_db_converters(db)
        if converters:
            converted.append((index, column, converters))
    return [f.attname for f in meta.concrete_fields], converted


def instance_from_row(model: type[models.Model], values: list[Any], db) -> models.Model:
    """An instance from a row of all its concrete fields in order, converted as a query would convert them."""
    names, converted = _row_converters(model, db.alias)
    values = list(values)
    for index, column, converters in converted:
        for converter in converters:
            values[index] = converter(values[index], column, db)
    return model.from_db(db.alias, names, values)
