"""The console's top-queries page: pg_stat_statements when PostgreSQL has it, a clear note when not."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper

from accounts import roles
from monitoring.query_stats import top_queries
from tests.ports import free_port

pytestmark = pytest.mark.django_db
PAGE = "/admin/queries/"
PG_BIN = "/usr/lib/postgresql/15/bin"


@pytest.fixture
def staff(verified_client, django_user_model):
    def as_role(role: str):
        user = django_user_model.objects.create_user(role.lower().replace(" ", ""), password="pw-long-123456")
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return verified_client(user)

    return as_role


def _preloaded() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW shared_preload_libraries")
        return "pg_stat_statements" in cursor.fetchone()[0]


def test_it_says_clearly_when_postgres_did_not_load_the_extension(staff):
    if _preloaded():
        pytest.skip("this server loads pg_stat_statements")

    page = staff(roles.OPERATOR).get(PAGE).content.decode()

    assert "Query statistics are not available." in page
    assert "shared_preload_libraries" in page


def test_it_says_when_the_extension_is_not_installed(django_db_blocker):
    with connections["default"].cursor() as cursor:
        cursor.execute("DROP EXTENSION IF EXISTS pg_stat_statements")

    stats = top_queries()

    assert not stats.available and "not installed" in stats.reason


def test_it_is_not_shown_to_an_analyst(staff):
    assert staff(roles.ANALYST).get(PAGE).status_code == 403


def test_it_is_shown_to_an_administrator(staff):
    assert staff(roles.ADMINISTRATOR).get(PAGE).status_code == 200


def test_it_refuses_an_unknown_order():
    with pytest.raises(ValueError, match="order must be one of"):
        top_queries(order="name; DROP TABLE x")


@pytest.fixture(scope="module")
def preloaded_server():
    """A private PostgreSQL server of this test run that loads pg_stat_statements (the shared one does not)."""
    if os.geteuid() != 0 or shutil.which("runuser") is None or not os.path.exists(f"{PG_BIN}/initdb"):
        pytest.skip("needs root (to run a private server as postgres) and PostgreSQL's initdb")
    folder = tempfile.mkdtemp(prefix="pgstat-")
    shutil.chown(folder, "postgres", "postgres")
    data, port = os.path.join(folder, "data"), free_port()

    def as_postgres(*args):
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=120, check=True
        )

    as_postgres(f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements"
    # The server's output goes to a file: a pipe would stay open for as long as the server runs.
    as_postgres(f"{PG_BIN}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start")
    try:
        yield port
    finally:
        as_postgres(f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_it_lists_the_top_queries_of_a_server_that_loads_the_extension(preloaded_server):
    settings = {**connections["default"].settings_dict, "NAME": "postgres", "HOST": "127.0.0.1"}
    settings.update(PORT=str(preloaded_server), USER="postgres", PASSWORD="", OPTIONS={})
    wrapper = DatabaseWrapper(settings, alias="stats")
    connections["stats"] = wrapper
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            for _ in range(3):
                cursor.execute("SELECT count(*) FROM pg_class WHERE relname = %s", ["x"])

        stats = top_queries(using="stats", order="calls")

        assert stats.available, stats.reason
        found = [row for row in stats.rows if "pg_class WHERE relname" in row.query]
        assert found and found[0].calls >= 3 and found[0].total_ms >= 0
    finally:
        wrapper.close()
        del connections["stats"]
