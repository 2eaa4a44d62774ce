"""Queries over SLOW_QUERY_MS are logged with their fingerprint and correlation id, and counted."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from conversations.models import LineUser
from core import correlation
from core.slow_queries import fingerprint, normalised

from .conftest import metric

pytestmark = pytest.mark.django_db


def slow_lines(caplog) -> list[dict]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "slow_query"]


def sleep(seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


def test_it_logs_a_query_over_the_threshold_with_fingerprint_and_correlation_id(settings, caplog):
    settings.SLOW_QUERY_MS = 30
    correlation.bind("corr-slow-1")
    try:
        with caplog.at_level(logging.WARNING):
            sleep(0.06)
    finally:
        correlation.clear()

    [line] = slow_lines(caplog)
    assert line["sql"] == "SELECT pg_sleep(?)"
    assert line["fingerprint"] == fingerprint("SELECT pg_sleep(%s)")
    assert line["correlation_id"] == "corr-slow-1"
    assert line["duration_ms"] >= 60


def test_it_counts_slow_queries_in_a_metric(settings):
    settings.SLOW_QUERY_MS = 30
    before = metric("db_slow_queries_total", alias="default")

    sleep(0.05)

    assert metric("db_slow_queries_total", alias="default") == before + 1


def test_it_leaves_fast_queries_alone(settings, caplog):
    settings.SLOW_QUERY_MS = 200
    before = metric("db_slow_queries_total", alias="default")

    with caplog.at_level(logging.WARNING):
        LineUser.objects.count()
        sleep(0.01)

    assert slow_lines(caplog) == []
    assert metric("db_slow_queries_total", alias="default") == before


def test_it_is_off_at_a_threshold_of_zero(settings, caplog):
    settings.SLOW_QUERY_MS = 0

    with caplog.at_level(logging.WARNING):
        sleep(0.02)

    assert slow_lines(caplog) == []


def test_it_never_logs_the_values_of_a_query(settings, caplog):
    settings.SLOW_QUERY_MS = 1
    with caplog.at_level(logging.WARNING), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.01), 'U1234567890secret'")

    assert slow_lines(caplog) and "secret" not in str(slow_lines(caplog))


def test_it_defaults_to_200_ms():
    from linebot_project.settings import base

    assert base.SLOW_QUERY_MS == 200.0


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("SELECT * FROM t WHERE id = 1", "SELECT * FROM t WHERE id = 42"),
        ("SELECT * FROM t WHERE id IN (%s, %s)", "SELECT * FROM t WHERE id IN (%s, %s, %s, %s)"),
        ("INSERT INTO t (a) VALUES (%s), (%s)", "INSERT INTO t (a) VALUES (%s), (%s), (%s)"),
        ("SELECT a FROM t WHERE b = 'x'", "SELECT  a\n FROM t WHERE b = 'it''s'"),
    ],
)
def test_it_gives_queries_of_one_shape_one_fingerprint(one, other):
    assert fingerprint(one) == fingerprint(other)


def test_it_tells_queries_of_different_shapes_apart():
    assert fingerprint("SELECT a FROM t") != fingerprint("SELECT b FROM t")
    assert normalised('SELECT "t1"."c2" FROM t1') == 'SELECT "t1"."c2" FROM t1'
