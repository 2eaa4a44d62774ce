"""Production start-up: `check --deploy` is clean, and a missing variable stops the process in one clear line."""

import subprocess
import sys
import uuid

import pytest

from tests.security.production_env import REPO, production_env

pytestmark = pytest.mark.integration

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REQUIRED = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "JWT_SIGNING_KEY",
    "PUBLIC_BASE_URL",
]


def _run(args, **env_overrides):
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=production_env(database_url=DATABASE_URL, **env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_without_issues():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


@pytest.mark.parametrize("name", REQUIRED)
def test_it_stops_start_up_on_a_missing_variable_with_one_line_naming_it(name):
    # Importing the ASGI application is what daphne does first.
    result = _run(["-c", "import linebot_project.asgi"], **{name: None})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    naming = [line for line in result.stderr.splitlines() if name in line]
    assert naming == [f"configuration error: {name}: (core.E001) {name} is required but not set"]


def test_it_stops_start_up_on_a_malformed_variable_with_one_line_naming_it():
    result = _run(["-c", "import linebot_project.asgi"], REDIS_URL="http://127.0.0.1:6379/0")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "REDIS_URL" in line] == [
        "configuration error: REDIS_URL: (core.E001) REDIS_URL is malformed: expected a redis/rediss/unix URL"
    ]


def test_it_refuses_to_run_manage_py_without_a_required_variable():
    result = _run(["manage.py", "migrate", "--check"], LINE_CHANNEL_SECRET=None)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "LINE_CHANNEL_SECRET" in line] == [
        "LINE_CHANNEL_SECRET: (core.E001) LINE_CHANNEL_SECRET is required but not set"
    ]


POOL_PROBE = """
import sys
import threading
import django
django.setup()
from django.db import connection
from django.conf import settings

def query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()  # back to the pool

threads = [threading.Thread(target=query) for _ in range(40)]
for t in threads: t.start()
for t in threads: t.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [sys.argv[1]])
    print("connections", cursor.fetchone()[0], "max", settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"])
"""


def test_it_shares_a_bounded_connection_pool_across_threads_in_production():
    # A name of its own: other test runs may probe the same server at the same time.
    application_name = f"pool-probe-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-c", POOL_PROBE, application_name],
        cwd=REPO,
        env=production_env(
            database_url=f"{DATABASE_URL}?application_name={application_name}", DJANGO_DB_POOL_MAX_SIZE="4"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    _, used, _, maximum = result.stdout.split()
    assert maximum == "4"
    assert 1 <= int(used) <= 4
