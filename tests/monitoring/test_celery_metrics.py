"""Task counts by outcome, failures by exception and run times, from Celery's signals."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from linebot_project.celery import app as celery_app

from .conftest import metric

calls = {"flaky": 0}


@celery_app.task(name="tests.monitoring.quick")
def quick():
    return "done"


@celery_app.task(name="tests.monitoring.broken")
def broken():
    raise KeyError("missing")


@celery_app.task(name="tests.monitoring.flaky", bind=True, max_retries=1)
def flaky(self):
    calls["flaky"] += 1
    if calls["flaky"] == 1:
        raise self.retry(countdown=0)
    return "second time lucky"


def test_it_counts_a_succeeded_run_and_its_run_time():
    before = metric("celery_tasks_total", task="tests.monitoring.quick", outcome="succeeded")
    timed = metric("celery_task_runtime_seconds_count", task="tests.monitoring.quick")

    quick.apply()

    assert metric("celery_tasks_total", task="tests.monitoring.quick", outcome="succeeded") == before + 1
    assert metric("celery_task_runtime_seconds_count", task="tests.monitoring.quick") == timed + 1


def test_it_counts_a_failure_by_exception_class():
    failed = metric("celery_tasks_total", task="tests.monitoring.broken", outcome="failed")
    by_class = metric("celery_task_failures_total", task="tests.monitoring.broken", exception="KeyError")

    result = broken.apply(throw=False)

    assert result.failed()
    assert metric("celery_tasks_total", task="tests.monitoring.broken", outcome="failed") == failed + 1
    assert metric("celery_task_failures_total", task="tests.monitoring.broken", exception="KeyError") == by_class + 1


def test_it_counts_a_run_that_asked_for_a_retry_and_the_run_after_it():
    calls["flaky"] = 0
    retried = metric("celery_tasks_total", task="tests.monitoring.flaky", outcome="retried")
    succeeded = metric("celery_tasks_total", task="tests.monitoring.flaky", outcome="succeeded")

    flaky.apply(throw=False)

    assert metric("celery_tasks_total", task="tests.monitoring.flaky", outcome="retried") == retried + 1
    assert metric("celery_tasks_total", task="tests.monitoring.flaky", outcome="succeeded") == succeeded + 1


@pytest.fixture
def queued_worker():
    """An in-process worker on the in-memory broker: the task really goes through a queue."""
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.mark.django_db
def test_it_counts_a_run_in_a_worker(queued_worker):
    before = metric("celery_tasks_total", task="tests.monitoring.quick", outcome="succeeded")

    quick.delay()

    deadline = time.monotonic() + 10
    while metric("celery_tasks_total", task="tests.monitoring.quick", outcome="succeeded") == before:
        assert time.monotonic() < deadline, "the worker did not run the task"
        time.sleep(0.05)
    assert metric("celery_tasks_total", task="tests.monitoring.quick", outcome="succeeded") == before + 1
