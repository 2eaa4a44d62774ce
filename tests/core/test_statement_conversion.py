"""A statement of many parameters, like the ack's insert of several events, is converted once per process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import connection

from tests.security.production_env import REPO, database_url, production_env

pytestmark = pytest.mark.integration

# psycopg keeps each statement's conversion (%s to $n) in an LRU cache; its statistics say whether the second and
# third executes of the same statement found it there.
PROBE = """
import django
django.setup()
from django.db import connection
from psycopg import _queries
from conversations.services import _insert_once_statement

parameters = len(_insert_once_statement(True, 8)[1]) * 8
sql = "SELECT " + ", ".join(["%s::int"] * parameters)
with connection.cursor() as cursor:
    cursor.execute(sql, list(range(parameters)))
    before = _queries._query2pg.cache_info().hits
    for _ in range(2):
        cursor.execute(sql, list(range(parameters)))
        assert cursor.fetchone()[-1] == parameters - 1
print(parameters, _queries._query2pg.cache_info().hits - before)
"""


def test_it_converts_a_statement_as_large_as_the_ack_of_eight_events_once_per_process(transactional_db):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        # One session of its own: the pool's threads open theirs in the background, and their set-up statements
        # would count in the process-wide statistics (under load, one landed between the probe's executes).
        env=production_env(database_url=database_url(connection), DJANGO_DB_CONNECTIONS="persistent"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    parameters, hits = map(int, result.stdout.split()[-2:])
    assert parameters > 50  # over psycopg's own limit for keeping a conversion
    assert hits == 2
