"""Production hands out no database session the server has ended, pooled or persistent, and spends no query to know it.

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


def start_probe(probe: str, name: str, **env) -> subprocess.Popen:
    """The probe in a production-configured process whose sessions carry ``application_name=name``."""
    return subprocess.Popen(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=production_env(database_url=f"{database_url(connection)}?application_name={name}", **env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
    process = start_probe(PROBE, name, DJANGO_DB_POOL_MIN_SIZE="2", DJANGO_DB_POOL_MAX_SIZE="2")
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


PERSISTENT_PROBE = """
import sys
import django
django.setup()
from django.db import close_old_connections, connection

asked = []  # Django's health check asks the server (SELECT 1) through is_usable()
usable = connection.is_usable
connection.is_usable = lambda: asked.append(1) or usable()

def backend_pid():
    close_old_connections()  # what request_started does
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    close_old_connections()  # what request_finished does: a persistent session stays open
    return pid

print("BEFORE", *sorted({backend_pid() for _ in range(4)}), flush=True)
sys.stdin.readline()
print("AFTER", *sorted({backend_pid() for _ in range(4)}), flush=True)
print("ASKED", len(asked), flush=True)
"""


def test_it_answers_after_the_server_ended_a_persistent_session(transactional_db):
    name = f"persistent-liveness-{uuid.uuid4().hex[:8]}"
    process = start_probe(PERSISTENT_PROBE, name, DJANGO_DB_CONNECTIONS="persistent")
    try:
        before = process.stdout.readline().split()
        assert before[:1] == ["BEFORE"], process.stderr.read()
        assert terminate_sessions_of(name) == 1
        process.stdin.write("\n")
        process.stdin.flush()
        after = process.stdout.readline().split()
        asked = process.stdout.readline().split()
        assert process.wait(timeout=60) == 0, process.stderr.read()
    finally:
        process.kill()

    assert asked == ["ASKED", "0"]  # the health check polled the socket; no query
    assert len(before) == 2  # one session kept across the four requests
    assert after[:1] == ["AFTER"] and len(after) == 2
    assert after[1] != before[1]


def test_it_refuses_an_unknown_kind_of_database_connections():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=production_env(database_url="postgres://postgres@127.0.0.1:5432/unused", DJANGO_DB_CONNECTIONS="pooled"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "DJANGO_DB_CONNECTIONS must be pool or persistent, not 'pooled'" in result.stderr


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
