"""The production pool hands out no session the server has ended, and spends no query to know it.

Ending the sessions with pg_terminate_backend is what a PostgreSQL restart does to its clients
(each backend sends "terminating connection due to administrator command" and closes).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from django.db import connection

from core.postgres.base import session_looks_alive
from tests.core.test_db import conninfo
from tests.security.production_env import REPO, database_url, production_env

pytestmark = pytest.mark.integration

PROBE = """
import sys
import django
django.setup()
from django.db import connection

def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    connection.close()  # back to the pool, as at the end of a request
    return pid

print("BEFORE", *sorted({backend_pid() for _ in range(4)}), flush=True)
sys.stdin.readline()  # the test ends every session of this process meanwhile
print("AFTER", *sorted({backend_pid() for _ in range(4)}), flush=True)
"""


def terminate_sessions_of(application_name: str) -> int:
    with psycopg.connect(conninfo(), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        ).fetchone()[0]
        deadline = time.monotonic() + 10
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the sessions did not end"
            time.sleep(0.05)
    return ended


def test_it_answers_after_the_server_ended_every_pooled_session(transactional_db):
    name = f"pool-liveness-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=production_env(
            database_url=f"{database_url(connection)}?application_name={name}",
            DJANGO_DB_POOL_MIN_SIZE="2",
            DJANGO_DB_POOL_MAX_SIZE="2",
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        before = process.stdout.readline().split()
        assert before[:1] == ["BEFORE"], process.stderr.read()
        # The pool's minimum of two sessions, both ended at once as by a restart.
        time.sleep(0.5)
        assert terminate_sessions_of(name) == 2
        process.stdin.write("\n")
        process.stdin.flush()
        after = process.stdout.readline().split()
        assert process.wait(timeout=60) == 0, process.stderr.read()
    finally:
        process.kill()

    assert after[:1] == ["AFTER"] and len(after) > 1
    assert not set(after[1:]) & set(before[1:])  # only new sessions answered


def test_it_sees_a_live_idle_session_as_alive(transactional_db):
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute("SELECT 1")
        assert session_looks_alive(conn)


def test_it_sees_a_session_the_server_ended_as_dead_without_asking_the_server(transactional_db):
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        pid = conn.info.backend_pid
        with psycopg.connect(conninfo(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while session_looks_alive(conn):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert not session_looks_alive(conn)


def test_it_sees_a_closed_connection_as_dead(transactional_db):
    conn = psycopg.connect(conninfo(), autocommit=True)
    conn.close()
    assert not session_looks_alive(conn)
