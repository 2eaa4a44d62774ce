"""The correlation id: echoed on responses, carried into Celery tasks and their log lines."""

import logging
import re
import time

import pytest
import structlog
from celery.contrib.testing.worker import start_worker

from core import correlation
from linebot_project.celery import app as celery_app

log = structlog.get_logger("tests.correlation")
seen_in_task: list[str | None] = []


@celery_app.task(name="tests.record_correlation_id")
def record_correlation_id():
    seen_in_task.append(correlation.current())
    log.info("inside_task")


def test_it_echoes_a_client_supplied_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")

    assert response["X-Request-ID"] == "abc-123"


def test_it_generates_an_id_when_the_client_sends_none(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert len(first) == 32 and first != second


def test_it_replaces_an_unsafe_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_it_puts_the_bound_id_on_every_log_line_and_leaves_none_after_the_request(client):
    from core.logging import _SHARED_PROCESSORS

    def rendered(event: str) -> dict:
        event_dict = {"event": event}
        for processor in _SHARED_PROCESSORS:
            event_dict = processor(log, "info", event_dict)
        return event_dict

    with correlation.kept():
        correlation.bind("during-1")
        assert rendered("inside")["correlation_id"] == "during-1"
        assert correlation.current() == "during-1"
    assert correlation.current() is None

    client.get("/healthz", HTTP_X_REQUEST_ID="request-1")

    assert correlation.current() is None
    assert "correlation_id" not in rendered("after")


def test_it_lets_a_line_name_its_own_id():
    with correlation.kept():
        correlation.bind("bound-1")
        event_dict = correlation.add_to_log_line(log, "info", {"event": "e", "correlation_id": "own-1"})
    assert event_dict["correlation_id"] == "own-1"


@pytest.fixture
def real_worker(settings):
    """An in-process worker on the in-memory broker: tasks really go through a queue."""
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = True


def inside_task_lines(caplog):
    return [r for r in caplog.records if "inside_task" in r.getMessage()]


@pytest.mark.django_db
def test_it_carries_the_id_into_the_task_and_its_log_lines(real_worker, caplog):
    seen_in_task.clear()
    correlation.bind("corr-777")
    try:
        with caplog.at_level(logging.INFO):
            record_correlation_id.delay()
            # The task records its id before it logs: wait for the line itself, while INFO is still captured.
            deadline = time.monotonic() + 10
            while not inside_task_lines(caplog) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        correlation.clear()

    assert seen_in_task == ["corr-777"]
    task_lines = inside_task_lines(caplog)
    assert task_lines
    assert all("corr-777" in str(r.msg) for r in task_lines)


class ContextOfEachLine(logging.Handler):
    """Keeps each line with the correlation id bound when it was logged (the formatter would add that id)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[tuple[str, str | None]] = []

    def emit(self, record):
        self.lines.append((record.getMessage(), correlation.current()))


@pytest.mark.django_db
def test_it_gives_a_task_sent_without_an_id_one_on_arrival_for_every_line_of_its_run(real_worker):
    seen_in_task.clear()
    correlation.clear()
    lines = ContextOfEachLine()
    logging.getLogger().addHandler(lines)
    try:
        record_correlation_id.delay()
        deadline = time.monotonic() + 10
        while not [m for m, _ in lines.lines if "succeeded" in m] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        logging.getLogger().removeHandler(lines)

    (fresh,) = seen_in_task
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    about_the_task = [(m, cid) for m, cid in lines.lines if "tests.record_correlation_id" in m or "inside_task" in m]
    assert [m for m, _ in about_the_task if "received" in m]
    assert {cid for _, cid in about_the_task} == {fresh}
