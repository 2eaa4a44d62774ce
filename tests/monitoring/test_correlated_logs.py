"""One correlation id finds every line of one user's message, in web and worker, and of one scheduled run.

A real worker (and beat) process with LOG_JSON=true on RabbitMQ, the bot pointed at the LINE and LLM doubles.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from conversations.models import WebhookEvent
from core import correlation
from core.logging import logging_config
from linebot_project.celery import app as celery_app
from monitoring.models import ErrorKind

from .conftest import SECRET, TOKEN, signed, text_event

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("E2E_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
OUR_PACKAGES = ("accounts", "analytics", "conversations", "core", "monitoring", "richmessages", "linebot_project")


class Process:
    """A Celery worker or beat in its own process group, its output (JSON log lines) in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "linebot_project", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 40) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines() if re.search(pattern, line.get("event", ""))]
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                raise RuntimeError(f"process exited: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"no {count} lines like {pattern!r}: {self.log_path.read_text()[-3000:]}")

    def lines(self) -> list[dict]:
        """Every JSON line; anything else (Celery's banner) becomes {"raw": ...}."""
        parsed = []
        for raw in self.log_path.read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"raw": raw}
            parsed.append(line if isinstance(line, dict) else {"raw": raw})
        return parsed

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def queue_name():
    return f"obs-logs-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def process_env(django_db_setup, django_db_blocker, doubles, queue_name):
    line, llm = doubles
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
        "ERROR_CAPTURE_ENABLED": "true",
        "CELERY_EAGER": "0",
        "CELERY_BROKER_URL": BROKER,
        "CONVERSATION_TASK_QUEUE": queue_name,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": line.base_url,
        "LINE_DATA_API_BASE_URL": line.base_url,
        **llm.env(),
    }


@pytest.fixture(scope="module")
def worker(process_env, queue_name, tmp_path_factory):
    args = ["worker", "-Q", queue_name, "--concurrency=1", "--pool=prefork", "--without-gossip", "--without-mingle"]
    args += ["--loglevel=INFO", "-n", f"{queue_name}@%h", "-I", "tests.monitoring.failing_tasks"]
    process = Process(args, process_env, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        process.wait_for(r"ready\.$")
        yield process
    finally:
        process.stop()
        from kombu import Connection

        with Connection(BROKER) as broker:
            broker.default_channel.queue_delete(queue_name)


@pytest.fixture
def publish_to_broker():
    """This process publishes to the real broker instead of running tasks in-process."""
    from kombu import pools

    def forget_connections():
        pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, BROKER
    forget_connections()
    yield
    conf.task_always_eager, conf.broker_url = saved
    forget_connections()


class WebLines(logging.Handler):
    """The JSON lines this thread (the web request's) logs, formatted as in production."""

    def __init__(self):
        super().__init__()
        config = logging_config(json=True, level="INFO")["formatters"]["structured"]
        factory = config.pop("()")
        self.setFormatter(factory(**config))
        self.thread = threading.get_ident()
        self.lines: list[dict] = []

    def emit(self, record):
        if record.thread == self.thread:
            self.lines.append(json.loads(self.format(record)))


def test_it_finds_every_line_of_one_users_message_in_web_and_worker_by_one_id(
    transactional_db, bot, worker, queue_name, publish_to_broker, client, settings
):
    settings.CONVERSATION_TASK_QUEUE = queue_name
    line, _ = bot
    user_id = line.control.add_user(display_name="Logged")["userId"]
    body, signature = signed([text_event(user_id, line.control.issue_reply_token(user_id), "Log me")])
    web = WebLines()
    logging.getLogger().addHandler(web)
    try:
        response = client.post(
            "/line/webhook", data=body, content_type="application/json", HTTP_X_LINE_SIGNATURE=signature
        )
    finally:
        logging.getLogger().removeHandler(web)
    assert response.status_code == 200
    correlation_id = response["X-Request-ID"]

    (done,) = worker.wait_for(r"process_webhook_event\[.*\] succeeded")

    assert WebhookEvent.objects.get().correlation_id == correlation_id
    assert [entry["event"] for entry in web.lines if entry["event"] == "line_webhook_accepted"]
    assert {entry.get("correlation_id") for entry in web.lines} == {correlation_id}
    task_id = re.search(r"\[(.+?)\]", done["event"]).group(1)
    lines = worker.lines()
    start = next(i for i, entry in enumerate(lines) if f"[{task_id}] received" in entry.get("event", ""))
    end = lines.index(done)
    run = lines[start : end + 1]
    assert [entry for entry in run if "raw" in entry] == []
    assert {entry.get("correlation_id") for entry in run} == {correlation_id}, run
    loggers = {entry["logger"] for entry in run}
    assert "conversations.delivery" in loggers  # ours: line_answer_sent
    assert {name for name in loggers if not name.startswith(OUR_PACKAGES)} >= {"celery.worker.strategy", "httpx2"}
    assert all(entry.get("correlation_id") in (None, correlation_id) for entry in lines)


def test_it_gives_each_task_beat_sends_a_fresh_id_that_the_worker_logs(
    transactional_db, worker, process_env, queue_name, tmp_path
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="observability-check",
        task="conversations.tasks.requeue_stalled_webhook_events",
        interval=every_second,
        queue=queue_name,
    )
    beat = Process(["beat", "--loglevel=INFO", "--pidfile=", "--max-interval=1"], process_env, tmp_path / "beat.log")
    try:
        sent = beat.wait_for(r"Sending due task observability-check", count=2)
    finally:
        beat.stop()

    ids = [entry.get("correlation_id") for entry in sent]
    assert all(ids) and len(set(ids)) == len(ids)
    for correlation_id in ids:
        lines = [entry for entry in worker.lines() if entry.get("correlation_id") == correlation_id]
        deadline = time.monotonic() + 20
        while not any("succeeded" in entry["event"] for entry in lines) and time.monotonic() < deadline:
            time.sleep(0.2)
            lines = [entry for entry in worker.lines() if entry.get("correlation_id") == correlation_id]
        events = [entry["event"] for entry in lines]
        assert any("requeue_stalled_webhook_events" in e and "received" in e for e in events), events
        assert any("requeue_stalled_webhook_events" in e and "succeeded" in e for e in events), events


def test_it_brings_an_exception_in_a_worker_to_the_errors_page_once_labelled_worker(
    transactional_db, worker, queue_name, publish_to_broker
):
    correlation.bind("worker-error-1")
    try:
        celery_app.send_task("tests.monitoring.explode_in_worker", queue=queue_name)
    finally:
        correlation.clear()

    deadline = time.monotonic() + 20
    while not ErrorKind.objects.filter(exception_type="ZeroDivisionError").exists():
        assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(1.5)  # a second write of the same occurrence would come within the interval

    kind = ErrorKind.objects.get(exception_type="ZeroDivisionError")
    assert (kind.count, kind.process_kinds, kind.correlation_ids) == (1, ["worker"], ["worker-error-1"])
    assert kind.location == "tests.monitoring.failing_tasks:explode_in_worker"
    (failure,) = worker.wait_for(r"explode_in_worker\[.*\] raised unexpected")
    assert failure["correlation_id"] == "worker-error-1"
    assert "ZeroDivisionError: the worker broke" in failure["exception"]
