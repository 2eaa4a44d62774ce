"""Writes to LINE users: first sight (with what answering needs to know), profile, follow, opt-out, language."""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from conversations.models import LineUser, Takeover
from core.logging import get_logger
from core.raw_sql import insert_statement, insert_values, instance_from_row, row_update

log = get_logger(__name__)


def line_user_touch(*, line_user_id: str) -> tuple[LineUser, bool]:
    """The user, created on first sight; ``last_seen_at`` moves on every event.

    On PostgreSQL the same statement tells whether an operator's takeover is open (``takeover_open``).
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        user, created = _line_user_upsert(LineUser(line_user_id=line_user_id, first_seen_at=now, last_seen_at=now))
    else:
        user, created = LineUser.objects.get_or_create(
            line_user_id=line_user_id, defaults={"first_seen_at": now, "last_seen_at": now}
        )
        if not created:
            LineUser.objects.filter(pk=user.pk).update(last_seen_at=now)
            user.last_seen_at = now
    user.first_seen_now = created
    return user, created


@functools.cache
def _upsert_statement() -> tuple[str, list]:
    """The upsert on PostgreSQL and the fields it binds, built once: nothing in it changes."""
    insert, fields = insert_statement(LineUser, connection)
    meta = LineUser._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    returned = ", ".join(quote(f.column) for f in meta.concrete_fields)
    seen = quote(meta.get_field("last_seen_at").column)
    takeovers = Takeover._meta
    takeover_user, takeover_ended = (quote(takeovers.get_field(name).column) for name in ("line_user", "ended_at"))
    # The open takeover rides along: the bot must know before answering, and this is the statement it runs anyway.
    takeover_open = (
        # Names from the model (bandit B608, ruff S608).
        f"EXISTS (SELECT 1 FROM {quote(takeovers.db_table)} WHERE {takeover_user} = {table}.{quote(meta.pk.column)} "  # noqa: S608  # nosec B608
        f"AND {takeover_ended} IS NULL)"
    )
    sql = (
        # Names from the model, values bound (bandit B608).
        f"{insert} ON CONFLICT ({quote(meta.get_field('line_user_id').column)}) DO UPDATE SET {seen} = EXCLUDED.{seen} "  # nosec B608
        f"RETURNING {returned}, (xmax = 0), {takeover_open}"
    )
    return sql, fields


def _line_user_upsert(row: LineUser) -> tuple[LineUser, bool]:
    """One statement on every event of a known or new user, where get_or_create and an update take two to four."""
    sql, fields = _upsert_statement()
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(sql, insert_values(row, fields, db))
        *stored, created, open_takeover = cursor.fetchone()
    user = instance_from_row(LineUser, stored, db)
    user.takeover_open = bool(open_takeover)
    return user, bool(created)


def line_user_update_profile(
    *, user: LineUser, display_name: str, picture_url: str, status_message: str, language: str
) -> LineUser:
    user.display_name = display_name[:255]
    user.picture_url = picture_url[:1000]
    user.status_message = status_message
    # A language the user chose with /lang wins over the app's, which is followed when it changes.
    if language and not user.language_chosen:
        user.language = language[:16]
    # Once for every new user, on the answer's path: a statement built once, not a save's query.
    row_update(user, ("display_name", "picture_url", "status_message", "language"), connections[DEFAULT_DB_ALIAS])
    return user


def line_user_set_status(*, user: LineUser, status: str) -> LineUser:
    user.status = status
    user.save(update_fields=["status"])
    return user


def line_user_follow(*, user: LineUser, followed_at: datetime | None = None) -> LineUser:
    """The user (re)followed the account: active again, ``followed_at`` set, and other apps told."""
    from conversations.signals import line_user_followed

    user.status = LineUser.Status.ACTIVE
    user.followed_at = followed_at or timezone.now()
    user.save(update_fields=["status", "followed_at"])
    # send_robust: a receiver's failure (step messages, say) must not cost the user the greeting.
    for receiver, result in line_user_followed.send_robust(sender=LineUser, user=user, followed_at=user.followed_at):
        if isinstance(result, Exception):
            log.error("line_user_followed_receiver_failed", receiver=getattr(receiver, "__qualname__", str(receiver)))
    return user


def line_user_set_opt_out(*, user: LineUser, opted_out: bool) -> LineUser:
    """/stop keeps campaign messages from the user (from now on); /start lets them through again."""
    if opted_out and user.opted_out_at is None:
        user.opted_out_at = timezone.now()
    elif not opted_out:
        user.opted_out_at = None
    LineUser.objects.filter(pk=user.pk).update(opted_out_at=user.opted_out_at)
    return user


def line_user_set_language(*, user: LineUser, language: str | None) -> LineUser:
    """/lang <code>: every answer in that language from now on. ``None`` (/lang auto): in the language of each
    message again; the chosen language stays as the fallback until the profile tells the app's."""
    if language is None:
        user.language_chosen = False
    else:
        user.language, user.language_chosen = language[:16], True
    user.save(update_fields=["language", "language_chosen"])
    return user
