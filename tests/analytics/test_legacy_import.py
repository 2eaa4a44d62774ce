"""import_legacy_analytics: the upstream bot's engagement_metrics table as events, once, bad rows reported."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from analytics.legacy_import import legacy_analytics_import
from analytics.models import Event, LegacyImport
from conversations.models import LineUser

pytestmark = pytest.mark.django_db
ALICE = "U" + "a1" * 16
BOB = "U" + "b2" * 16

# The upstream table as src/utils/metrics_storage.py creates it.
SCHEMA = """
CREATE TABLE engagement_metrics (
    metric_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, content_id TEXT NOT NULL,
    interaction_type TEXT NOT NULL, timestamp TEXT NOT NULL, response_time_ms INTEGER,
    session_duration_ms INTEGER, engagement_score REAL, content_category TEXT, template_id TEXT,
    user_timezone TEXT, platform TEXT, metadata TEXT, created_at TEXT NOT NULL
)
"""
GOOD = [
    ("m1", ALICE, "c1", "message_received", "2025-03-01T08:00:00+07:00", None, "{}"),
    ("m2", ALICE, "c1", "button_clicked", "2025-03-01T08:05:00", None, json.dumps({"button_id": "more"})),
    ("m3", BOB, "c2", "content_shared", "2025-03-02T10:00:00+00:00", "motivation", None),
    (
        "m4",
        BOB,
        "c2",
        "feedback_provided",
        "2025-03-02T10:01:00+00:00",
        None,
        json.dumps({"rating": "good", "feedback_text": "call me on 0812345678"}),
    ),
]
OPENED = [("m5", BOB, "c2", "message_opened", "2025-03-02T10:00:30+00:00", None, None)]
BAD = [
    ("m6", ALICE, "c1", "teleported", "2025-03-01T09:00:00+00:00", None, None),
    ("m7", ALICE, "c1", "content_saved", "yesterday", None, None),
    ("m8", "", "c1", "content_saved", "2025-03-01T09:00:00+00:00", None, None),
    ("m9", ALICE, "c1", "content_saved", "2025-03-01T09:00:00+00:00", None, "{not json"),
]


def make_file(path, rows) -> str:
    conn = sqlite3.connect(path)
    conn.execute(SCHEMA)
    conn.executemany(
        "INSERT INTO engagement_metrics (metric_id, user_id, content_id, interaction_type, timestamp,"
        " content_category, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '2025-03-03T00:00:00')",
        rows,
    )
    conn.commit()
    conn.close()
    return str(path)


@pytest.fixture
def legacy_file(tmp_path):
    return make_file(tmp_path / "engagement_metrics.db", GOOD + OPENED + BAD)


def test_it_imports_each_good_row_as_an_event(legacy_file):
    call_command("import_legacy_analytics", legacy_file)

    assert Event.objects.count() == 4
    assert sorted(Event.objects.values_list("type", flat=True)) == ["delivered", "postback", "postback", "postback"]
    assert sorted(Event.objects.values_list("button", flat=True)) == ["", "feedback", "more", "share"]


def test_it_imports_nothing_twice_when_rerun(legacy_file, capsys):
    call_command("import_legacy_analytics", legacy_file)
    capsys.readouterr()

    call_command("import_legacy_analytics", legacy_file)

    assert Event.objects.count() == 4 and LegacyImport.objects.count() == 4
    assert "imported 0, already imported 4" in capsys.readouterr().out


def test_it_imports_only_the_new_rows_of_a_grown_file(tmp_path):
    path = make_file(tmp_path / "grown.db", GOOD[:2])
    legacy_analytics_import(path=tmp_path / "grown.db")
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO engagement_metrics (metric_id, user_id, content_id, interaction_type, timestamp, created_at)"
        " VALUES ('m10', ?, 'c3', 'content_saved', '2025-04-01T00:00:00Z', '2025-04-01')",
        [ALICE],
    )
    conn.commit()
    conn.close()

    report = legacy_analytics_import(path=tmp_path / "grown.db", batch_size=1)

    assert (report.imported, report.already_imported) == (1, 2)
    assert Event.objects.count() == 3


def test_it_reports_and_skips_bad_rows(legacy_file, capsys):
    call_command("import_legacy_analytics", legacy_file)

    err = capsys.readouterr().err
    assert "skipped m6: unknown interaction_type 'teleported'" in err
    assert "skipped m7: timestamp 'yesterday' is not ISO 8601" in err
    assert "skipped m8: user_id '' is not a LINE user id" in err
    assert "skipped m9: metadata is not JSON" in err


def test_it_prints_a_count_summary(legacy_file, capsys):
    call_command("import_legacy_analytics", legacy_file)

    assert capsys.readouterr().out.strip() == (
        "read 9, imported 4, already imported 0, not imported (no such event here) 1, bad 4, LINE users created 2"
    )


def test_it_reads_times_without_a_zone_as_utc_and_keeps_zones_given(legacy_file):
    call_command("import_legacy_analytics", legacy_file)

    times = {e.props["interaction"]: e.occurred_at for e in Event.objects.all()}
    assert times["button_clicked"] == datetime(2025, 3, 1, 8, 5, tzinfo=UTC)
    assert times["message_received"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def test_it_keeps_the_rating_but_not_free_text_feedback(legacy_file):
    call_command("import_legacy_analytics", legacy_file)

    props = Event.objects.get(button="feedback").props
    assert props["rating"] == "good" and "0812345678" not in json.dumps(props)


def test_it_creates_unknown_users_as_inactive_and_links_known_ones(legacy_file):
    known = LineUser.objects.create(line_user_id=ALICE)

    call_command("import_legacy_analytics", legacy_file)

    assert Event.objects.filter(line_user=known).count() == 2
    assert LineUser.objects.get(line_user_id=BOB).status == LineUser.Status.INACTIVE


def test_it_refuses_a_file_without_the_table(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE x (a)").connection.close()

    with pytest.raises(CommandError, match="no engagement_metrics table"):
        call_command("import_legacy_analytics", str(path))


def test_it_refuses_a_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("hello, this is not a database" * 10)

    with pytest.raises(CommandError, match="not a readable SQLite database"):
        call_command("import_legacy_analytics", str(path))
    assert Event.objects.count() == 0


def test_it_refuses_a_table_missing_columns(tmp_path):
    path = tmp_path / "thin.db"
    sqlite3.connect(path).execute("CREATE TABLE engagement_metrics (metric_id TEXT, user_id TEXT)").connection.close()

    with pytest.raises(CommandError, match="interaction_type, timestamp"):
        call_command("import_legacy_analytics", str(path))


def test_it_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_legacy_analytics", str(tmp_path / "nowhere.db"))
