"""The embedded default's SQLite database moved to PostgreSQL with dumpdata and loaddata, counts checked after.

The commands are the ones docs/runbooks/sqlite-to-postgres.md gives, run as separate processes.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DUMP = ["dumpdata", "--natural-foreign", "--natural-primary", "-e", "contenttypes", "-e", "auth.permission"]
DUMP += ["-e", "sessions"]
SEED = """
from accounts import audit
from analytics.services import event_record
from conversations.models import Conversation, LineUser, Message
for n in range(5):
    u = LineUser.objects.create(line_user_id=f"U{n:032d}", display_name=f"ทดสอบ {n}")
    c = Conversation.objects.create(source_type="user", source_id=u.line_user_id, user=u)
    Message.objects.create(conversation=c, line_user=u, role="user", content="こんにちは")
    event_record(type="message", line_user=u, props={"n": n})
audit.record(action="config_changed", target="move-test")
"""


def _pg_url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "linebot_project.settings.local", "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """A seeded SQLite database and the PostgreSQL database it was moved to (by URL)."""
    folder = tmp_path_factory.mktemp("move")
    sqlite_url = f"sqlite:///{folder / 'db.sqlite3'}"
    name = f"move_check{os.environ.get('TEST_DB_SUFFIX', '')}_{uuid.uuid4().hex[:8]}".lower()
    postgres_url = _pg_url(name)
    admin = psycopg.connect(_pg_url("postgres"), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        for database_url, args in [
            (sqlite_url, ["migrate", "--noinput", "-v0"]),
            (sqlite_url, ["shell", "-c", SEED]),
            (sqlite_url, [*DUMP, "-o", str(folder / "move.json")]),
            (postgres_url, ["migrate", "--noinput", "-v0"]),
            (postgres_url, ["loaddata", str(folder / "move.json")]),
        ]:
            done = _manage(database_url, *args)
            assert done.returncode == 0, f"{args[0]}: {done.stderr[-2000:]}"
        yield sqlite_url, postgres_url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_it_finds_every_row_of_the_sqlite_database_in_postgres(moved):
    sqlite_url, postgres_url = moved

    done = _manage(postgres_url, "compare_databases", sqlite_url)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "All row counts match." in done.stdout
    lines = {line.split()[0]: line.split()[1:3] for line in done.stdout.splitlines() if line.startswith("conv")}
    assert lines["conversations.Message"] == ["5", "5"]


def test_it_keeps_the_texts_and_continues_the_ids_after_the_move(moved):
    _, postgres_url = moved

    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM conversations_message WHERE content = 'こんにちは'").fetchone() == (
            5,
        )
        top = conn.execute("SELECT max(id) FROM conversations_lineuser").fetchone()[0]
        # loaddata moved the sequence past the loaded ids: a new row does not collide.
        new = conn.execute(
            "INSERT INTO conversations_lineuser (line_user_id, display_name, picture_url, status_message, language,"
            " status, first_seen_at, last_seen_at, tags, timezone) VALUES"
            " ('Unew', '', '', '', '', 'active', now(), now(), '[]', '') RETURNING id"
        ).fetchone()[0]
        conn.rollback()
    assert new > top


def test_it_says_which_models_differ(moved, tmp_path):
    sqlite_url, postgres_url = moved
    short = tmp_path / "short.sqlite3"
    shutil.copy(sqlite_url.removeprefix("sqlite:///"), short)
    with sqlite3.connect(short) as conn:
        conn.execute("DELETE FROM conversations_message WHERE id = (SELECT min(id) FROM conversations_message)")

    done = _manage(postgres_url, "compare_databases", f"sqlite:///{short}")

    assert done.returncode != 0
    assert "conversations.Message" in done.stderr and "DIFFERS" in done.stdout


def test_it_refuses_what_is_not_a_database_url(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="Not a database URL"):
        call_command("compare_databases", "ftp://example.com/x")
