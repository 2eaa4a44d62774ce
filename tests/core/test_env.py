"""Typed environment reading: problems are collected, never raised."""

import pytest

from core.env import EnvReader


@pytest.fixture
def reader():
    return EnvReader()


def test_it_reports_a_missing_required_variable(reader, monkeypatch):
    monkeypatch.delenv("SOME_REQUIRED", raising=False)

    assert reader.str("SOME_REQUIRED", required=True) is None
    assert [p.message for p in reader.problems] == ["SOME_REQUIRED is required but not set"]


def test_it_reports_a_malformed_integer(reader, monkeypatch):
    monkeypatch.setenv("WORKERS", "many")

    assert reader.int("WORKERS", default=4) == 4
    assert reader.problems[0].message == "WORKERS is malformed: expected int"


def test_it_reports_a_malformed_boolean(reader, monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")

    assert reader.bool("DJANGO_DEBUG", default=False) is False
    assert reader.problems[0].name == "DJANGO_DEBUG"


def test_it_reads_booleans(reader, monkeypatch):
    monkeypatch.setenv("FLAG", "yes")

    assert reader.bool("FLAG", default=False) is True
    assert reader.problems == []


def test_it_parses_a_database_url(reader, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:pw@db:5432/linebot")

    config = reader.db("DATABASE_URL")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "linebot"


def test_it_rejects_a_database_url_of_an_unknown_scheme(reader, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "nonsense")

    assert reader.db("DATABASE_URL") is None
    assert reader.problems[0].message == "DATABASE_URL is malformed: not a database URL"


def test_it_rejects_a_url_of_the_wrong_scheme(reader, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://cache:6379")

    assert reader.url("REDIS_URL", default=None, schemes=("redis",)) is None
    assert reader.problems[0].message == "REDIS_URL is malformed: expected a redis URL"


def test_it_names_each_problem_once_in_the_system_check(settings):
    from core.checks import check_environment
    from core.env import EnvProblem

    settings.ENV_PROBLEMS = [EnvProblem("X", "X is required but not set"), EnvProblem("X", "X is malformed")]

    errors = check_environment()

    assert [(e.obj, e.msg, e.id) for e in errors] == [("X", "X is required but not set", "core.E001")]
