"""A Celery worker keeps its database session from one task to the next, as a web thread does between requests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from linebot_project.celery import _close_old_connections, app

pytestmark = pytest.mark.django_db(transaction=True)

A_TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def run_a_task(fixup: DjangoWorkerFixup) -> int:
    # What a worker runs around a task: the fix-up's receivers and ours, on task_prerun and task_postrun.
    fixup.on_task_prerun(A_TASK)
    _close_old_connections(sender=A_TASK)
    pid = backend_pid()
    fixup.on_task_postrun(A_TASK)
    _close_old_connections(sender=A_TASK)
    return pid


def test_it_keeps_the_session_across_a_workers_tasks(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    fixup = DjangoWorkerFixup(app)

    pids = {run_a_task(fixup) for _ in range(5)}

    assert fixup.db_reuse_max == 10_000
    assert len(pids) == 1


def test_it_drops_a_session_that_had_an_error_it_cannot_use_after(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    fixup = DjangoWorkerFixup(app)
    first = run_a_task(fixup)
    connection.errors_occurred = True
    connection.connection.close()  # broken under the task, as by a server restart

    assert run_a_task(fixup) != first


def test_it_closes_a_session_past_its_age_between_tasks(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    fixup = DjangoWorkerFixup(app)

    pids = {run_a_task(fixup) for _ in range(3)}

    assert len(pids) == 3
