"""PostgreSQL sessions and what they hold.

A session-level advisory lock lives as long as its session. Behind a connection pool the
session outlives the code that used it, so a lock that code failed to release would pass to
whoever checks the connection out next. Two guards: the pool releases every advisory lock of a
connection that comes back (:func:`pooled_connection_reset`), and code that cannot release its
lock ends the session (:func:`session_end`).
"""

from __future__ import annotations

import contextlib
from typing import Any


def pooled_connection_reset(conn: Any) -> None:
    """psycopg_pool's ``reset`` callback (``DATABASES[...]["OPTIONS"]["pool"]["reset"]``).

    Runs on each connection returned to the pool; a connection it fails on is discarded.
    """
    conn.execute("SELECT pg_advisory_unlock_all()")
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
