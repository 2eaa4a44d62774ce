"""PostgreSQL sessions and what they hold.

A session-level advisory lock lives as long as its session. Behind a connection pool the
session outlives the code that used it, so a lock that code failed to release would pass to
whoever checks the connection out next. Two guards: the pool releases every advisory lock of a
connection that comes back (:func:`pooled_connection_reset`), and code that cannot release its
lock ends the session (:func:`session_end`).

A session may also relax its commits for a while (:data:`RELAX_COMMITS`): they stop waiting for the disk until
a statement restores the setting (:data:`RESTORE_COMMITS`), and that statement's own commit waits for every
earlier one, because PostgreSQL writes and flushes its log in order. A crash can lose the last relaxed commits,
never one without those before it. So a piece of work relaxes its commits, and restores them in the write that
comes before an outside effect it must not repeat: once that write is durable, all of the work before it is too.
The pool's reset restores them as well.
"""

from __future__ import annotations

import contextlib
from typing import Any

# What the session's synchronous_commit was before it was relaxed.
_SAVED = "nullif(current_setting('linebot.synchronous_commit', true), '')"

#: A SQL expression that relaxes this session's commits until :data:`RESTORE_COMMITS` (PostgreSQL). It saves the
#: setting first (the inner call), and a session relaxed twice keeps what it had before the first time.
RELAX_COMMITS = (
    "set_config('synchronous_commit', CASE WHEN set_config('linebot.synchronous_commit', "
    f"CASE current_setting('synchronous_commit') WHEN 'off' THEN coalesce({_SAVED}, 'off') "
    "ELSE current_setting('synchronous_commit') END, false) IS NOT NULL THEN 'off' END, false)"
)

#: A SQL expression that gives this session back the synchronous_commit it had before :data:`RELAX_COMMITS`;
#: the commit of the statement it is part of waits for the disk. A session never relaxed keeps its setting.
RESTORE_COMMITS = f"set_config('synchronous_commit', coalesce({_SAVED}, current_setting('synchronous_commit')), false)"


def pooled_connection_reset(conn: Any) -> None:
    """psycopg_pool's ``reset`` callback (``DATABASES[...]["OPTIONS"]["pool"]["reset"]``).

    Runs on each connection returned to the pool; a connection it fails on is discarded.
    """
    conn.execute(f"SELECT pg_advisory_unlock_all(), {RESTORE_COMMITS}")
    if not conn.autocommit:
        # The pool keeps only idle connections.
        conn.commit()


def session_end(wrapper: Any) -> None:
    """Ends the database session behind Django's connection ``wrapper``, pooled or not.

    ``wrapper.close()`` alone hands a pooled connection back to the pool, session and locks
    included; closing the driver's connection first makes the pool discard it.
    """
    raw = wrapper.connection
    if raw is not None:
        try:
            raw.close()
        except Exception:  # noqa: BLE001, S110 - ending a broken session may fail too; it is gone either way
            pass
    wrapper.close()


def alone_or_in_savepoint():
    """Around one statement whose failure is caught: a savepoint inside a transaction, so that the failure
    does not spoil the caller's transaction; nothing in autocommit, where a failed statement spoils nothing
    and ``atomic()`` would only add a BEGIN and a COMMIT, two round trips."""
    # Imported here: the production settings import this module for the pool's reset callback.
    from django.db import connection, transaction

    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
