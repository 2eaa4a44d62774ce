"""A pooled PostgreSQL connection never carries an advisory lock to its next user."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from psycopg_pool import ConnectionPool

from conversations.models import LineUser
from core.db import RELAX_COMMITS, RESTORE_COMMITS, alone_or_in_savepoint, pooled_connection_reset
from tests.security.production_env import REPO, production_env

LOCK = (7, 77)


def conninfo() -> str:
    db = connection.settings_dict
    return f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"


def lock_is_free(timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo(), autocommit=True) as session:
        while True:
            if session.execute("SELECT pg_try_advisory_lock(%s, %s)", LOCK).fetchone()[0]:
                session.execute("SELECT pg_advisory_unlock(%s, %s)", LOCK)
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def advisory_locks_held(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    ).fetchone()[0]


def one_connection_pool(**options) -> ConnectionPool:
    return ConnectionPool(conninfo(), min_size=1, max_size=1, kwargs={"autocommit": True}, open=True, **options)


def test_it_releases_the_locks_of_a_connection_handed_back_to_the_pool(transactional_db):
    with one_connection_pool(reset=pooled_connection_reset) as pool:
        with pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", LOCK)
            first_pid = conn.info.backend_pid

        with pool.connection() as conn:
            assert conn.info.backend_pid == first_pid  # the same session, handed out again
            assert advisory_locks_held(conn) == 0
            assert lock_is_free(timeout=0)


def test_it_needs_the_reset_or_the_lock_passes_to_the_next_user(transactional_db):
    # Why the reset is there: the pool keeps the session, and the session keeps the lock.
    with one_connection_pool() as pool:
        with pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", LOCK)

        with pool.connection() as conn:
            assert advisory_locks_held(conn) == 1
            assert not lock_is_free(timeout=0)
            conn.execute("SELECT pg_advisory_unlock_all()")


def test_it_leaves_a_connection_idle_outside_autocommit_after_the_reset(transactional_db):
    with psycopg.connect(conninfo(), autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", LOCK)
        conn.commit()

        pooled_connection_reset(conn)

        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert lock_is_free(timeout=0)


POOL_LOCK_PROBE = """
import django
django.setup()
from django.db import connection
from django.conf import settings

def pid_and_locks():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())"
        )
        return cursor.fetchone()

with connection.cursor() as cursor:
    cursor.execute("SELECT pg_advisory_lock(7, 77)")
before, held = pid_and_locks()
connection.close()  # back to the pool, lock and all, as after a failed unlock
after, held_after = pid_and_locks()

from core.db import session_end
session_end(connection)  # ends the session instead of handing it back
ended, _ = pid_and_locks()
print(before == after, held, held_after, ended != after)
"""


@pytest.mark.integration
def test_it_gives_the_pool_the_reset_in_production_settings_and_can_still_end_a_session(transactional_db):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    result = subprocess.run(
        [sys.executable, "-c", POOL_LOCK_PROBE],
        cwd=REPO,
        env=production_env(database_url=url, DJANGO_DB_POOL_MIN_SIZE="1", DJANGO_DB_POOL_MAX_SIZE="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1", "0", "True"]


def test_it_wraps_a_statement_in_a_savepoint_inside_a_transaction(transactional_db):
    LineUser.objects.create(line_user_id="U" + "a" * 32)
    with transaction.atomic():
        with pytest.raises(IntegrityError), alone_or_in_savepoint():
            LineUser.objects.create(line_user_id="U" + "a" * 32)
        # The transaction is still usable: the savepoint took the failure.
        LineUser.objects.create(line_user_id="U" + "b" * 32)

    assert LineUser.objects.count() == 2


def test_it_adds_no_transaction_around_a_statement_in_autocommit(transactional_db):

    with alone_or_in_savepoint():
        assert connection.get_autocommit()
        LineUser.objects.create(line_user_id="U" + "c" * 32)


def synchronous_commit(conn) -> str:
    return conn.execute("SHOW synchronous_commit").fetchone()[0]


@pytest.fixture
def session(transactional_db):
    """A session of its own, set to ``local``: a choice of the deployment's, not the server's default."""
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = local")
        yield conn


def test_it_relaxes_a_sessions_commits_and_gives_back_the_setting_it_had(session):
    session.execute(f"SELECT {RELAX_COMMITS}")
    assert synchronous_commit(session) == "off"
    session.execute(f"SELECT {RESTORE_COMMITS}")
    assert synchronous_commit(session) == "local"


def test_it_keeps_the_first_setting_when_relaxed_twice(session):
    session.execute(f"SELECT {RELAX_COMMITS}")
    session.execute(f"SELECT {RELAX_COMMITS}")
    session.execute(f"SELECT {RESTORE_COMMITS}")
    assert synchronous_commit(session) == "local"


def test_it_leaves_a_session_never_relaxed_as_it_was(session):
    session.execute(f"SELECT {RESTORE_COMMITS}")
    assert synchronous_commit(session) == "local"


def test_it_gives_a_connection_handed_back_to_the_pool_its_commits_back(transactional_db):
    with one_connection_pool(reset=pooled_connection_reset) as pool:
        with pool.connection() as conn:
            default = synchronous_commit(conn)
            conn.execute(f"SELECT {RELAX_COMMITS}")

        with pool.connection() as conn:
            assert synchronous_commit(conn) == default != "off"
