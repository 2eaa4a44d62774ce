"""scripts/backup.sh and scripts/restore.sh: a backup restored into a fresh database holds the same rows."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts import audit
from accounts.models import AuditEvent
from analytics.models import Event
from analytics.services import event_record
from conversations.models import Conversation, LineUser, Message

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
KEY_TABLES = ["conversations_lineuser", "conversations_message", "analytics_event", "accounts_auditevent"]


def _url(name: str | None = None) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name or s['NAME']}"


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": _url()}
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _tables(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(conn)}


def _checksum(url: str, table: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT md5(coalesce(string_agg(md5(t::text), '' ORDER BY id), '')) FROM \"{table}\" t"
        ).fetchone()[0]


@pytest.fixture
def data():
    for n in range(3):
        user = LineUser.objects.create(line_user_id=f"U{n:032d}", display_name=f"ผู้ใช้ {n} 日本")
        conversation = Conversation.objects.create(source_type="user", source_id=user.line_user_id, user=user)
        for i in range(4):
            Message.objects.create(conversation=conversation, line_user=user, role="user", content=f"สวัสดี {i}")
        event_record(type=Event.Type.MESSAGE, line_user=user, props={"n": n})
    audit.record(action=AuditEvent.Action.CONFIG_CHANGED, target="backup-test", details={"k": "v"})


@pytest.fixture
def restored_name():
    name = f"restore_check{os.environ.get('TEST_DB_SUFFIX', '')}_{uuid.uuid4().hex[:8]}".lower()
    yield name
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_it_restores_a_backup_into_a_fresh_database_with_the_same_rows(data, tmp_path, restored_name):
    dump = tmp_path / "backup.dump"
    backup = _run("backup.sh", str(dump))
    assert backup.returncode == 0, backup.stderr
    assert not Path(f"{dump}.partial").exists()

    restore = _run("restore.sh", str(dump), restored_name)
    assert restore.returncode == 0, restore.stderr

    source, copy = _url(), _url(restored_name)
    assert _counts(copy) == _counts(source)
    assert _counts(copy)["conversations_message"] == 12
    for table in KEY_TABLES:
        assert _checksum(copy, table) == _checksum(source, table), table


def test_it_never_restores_over_an_existing_database(data, tmp_path):
    dump = tmp_path / "backup.dump"
    assert _run("backup.sh", str(dump)).returncode == 0
    before = _counts(_url())

    restore = _run("restore.sh", str(dump), connection.settings_dict["NAME"])

    assert restore.returncode == 1 and "exists already" in restore.stderr
    assert _counts(_url()) == before


def test_it_refuses_a_file_that_is_not_a_backup(tmp_path, restored_name):
    bogus = tmp_path / "bogus.dump"
    bogus.write_text("not a dump")

    restore = _run("restore.sh", str(bogus), restored_name)

    assert restore.returncode != 0
    with psycopg.connect(_url("postgres")) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [restored_name]).fetchone() is None


def test_it_refuses_a_database_name_it_cannot_quote_safely(tmp_path):
    restore = _run("restore.sh", str(tmp_path / "x.dump"), 'x"; DROP DATABASE linebot; --')

    assert restore.returncode == 2 and "database name" in restore.stderr


def test_it_needs_a_database_url(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "backup.sh"), str(tmp_path / "x.dump")],
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2 and "DATABASE_URL" in result.stderr
