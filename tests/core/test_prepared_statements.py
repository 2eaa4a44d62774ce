"""A statement a process repeats is planned once per PostgreSQL session, unless a pooler in front cannot keep plans."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import connection

from tests.security.production_env import REPO, database_url, production_env

pytestmark = pytest.mark.integration

PROBE = """
import django
django.setup()
from django.db import connection
from conversations.models import LineUser

for _ in range(8):
    list(LineUser.objects.filter(line_user_id="U0").values_list("pk", flat=True))
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%FROM \\"conversations_lineuser\\"%"]
    )
    print(cursor.fetchone()[0])
"""


def prepared_in_a_production_process(**env) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=production_env(database_url=database_url(connection), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_it_plans_a_repeated_statement_once_per_session_in_production(transactional_db):
    assert prepared_in_a_production_process() == 1


def test_it_plans_it_once_with_persistent_sessions_too(transactional_db):
    assert prepared_in_a_production_process(DJANGO_DB_CONNECTIONS="persistent") == 1


def test_it_leaves_statements_unprepared_for_a_pooler_that_cannot_keep_them(transactional_db):
    assert prepared_in_a_production_process(DJANGO_DB_PREPARED_STATEMENTS="false") == 0
