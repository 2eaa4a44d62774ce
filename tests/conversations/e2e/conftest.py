"""The whole path for real: the LINE double posts signed webhooks to a live Django server,
a real Celery worker process on RabbitMQ answers through the LLM double and the LINE double.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from linebot_project.celery import app as celery_app
from linesim.line.testing import running_line_double
from linesim.llm.testing import running_llm_double

ROOT = Path(__file__).resolve().parents[3]
BROKER = os.environ.get("E2E_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
SECRET = "e2e-channel-secret"
TOKEN = "e2e-access-token"


PREFORK = ("--pool=prefork", "--concurrency=2")


class Worker:
    """A Celery worker in its own process group, so that a SIGKILL takes the pool children too."""

    def __init__(self, env: dict[str, str], queue: str, log_path: Path, pool: tuple[str, ...] = PREFORK):
        self.env, self.queue, self.log_path, self.pool = env, queue, log_path, pool
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "linebot_project",
                "worker",
                "-Q",
                self.queue,
                *self.pool,
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                f"e2e-{self.queue}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if b"ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError("worker did not become ready")

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a lost machine would: no cleanup, no ack."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log_path.write_bytes(b"")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def doubles():
    with (
        running_line_double(channel_secret=SECRET, access_token=TOKEN) as line,
        running_llm_double(latency_ms=0) as llm,
    ):
        yield line, llm


@pytest.fixture(scope="module")
def queue_name():
    return f"conv-e2e-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def worker_env(django_db_setup, django_db_blocker, doubles, queue_name) -> dict[str, str]:
    line, llm = doubles
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "CELERY_EAGER": "0",
        "CELERY_BROKER_URL": BROKER,
        "CONVERSATION_TASK_QUEUE": queue_name,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": line.base_url,
        "LINE_DATA_API_BASE_URL": line.base_url,
        "LINE_API_RETRY_WAIT": "0.2",
        "LLM_READ_TIMEOUT": "2",
        "LLM_TOTAL_TIMEOUT": "8",
        "LLM_MAX_RETRIES": "1",
        "CONVERSATION_REPLY_BUDGET_SECONDS": "50",
        **llm.env(),
    }


@pytest.fixture(scope="module")
def worker(worker_env, queue_name, tmp_path_factory):
    process = Worker(worker_env, queue_name, tmp_path_factory.mktemp("worker") / "worker.log")
    process.start()
    yield process
    process.stop()
    _delete_queue(queue_name)


def _delete_queue(name: str) -> None:
    from kombu import Connection

    with Connection(BROKER) as connection:
        connection.default_channel.queue_delete(name)


@pytest.fixture(scope="module")
def _publish_to_broker(queue_name):
    """This process publishes to the real broker instead of running tasks in-process."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, BROKER
    _forget_connections()
    yield
    conf.task_always_eager, conf.broker_url = saved
    _forget_connections()


def _forget_connections():
    # Producers made earlier in this process (memory:// for the unit tests, or a previous module's broker
    # connection) must not be reused; kombu keeps them in a process-wide registry.
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def bot(transactional_db, live_server, doubles, worker, queue_name, _publish_to_broker, settings):
    line, llm = doubles
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.CONVERSATION_TASK_QUEUE = queue_name
    line.control.reset()
    line.control.configure(webhookUrl=f"{live_server.url}/line/webhook")
    llm.control.reset()
    yield Bot(line, llm, worker)


class Bot:
    def __init__(self, line, llm, worker):
        self.line, self.llm, self.worker = line, llm, worker

    def send(self, **event) -> dict:
        result = self.line.control.send_webhook(**event)
        assert result["delivery"]["status"] == 200, result
        return result["event"]

    def messages(self, user_id: str) -> list[dict]:
        return self.line.control.messages(user_id=user_id)

    def wait_for_messages(self, user_id: str, count: int = 1, timeout: float = 20, settle: float = 1.0) -> list[dict]:
        """Waits for ``count`` messages, then ``settle`` seconds more so that an extra one would show."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages(user_id)) >= count:
                break
            time.sleep(0.1)
        time.sleep(settle)
        return self.messages(user_id)

    def wait_for_status(self, timeout: float = 20):
        from conversations.models import WebhookEvent

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not WebhookEvent.objects.exclude(status__in=WebhookEvent.FINAL_STATUSES).exists():
                return list(WebhookEvent.objects.all())
            time.sleep(0.1)
        raise AssertionError(list(WebhookEvent.objects.values("event_type", "status", "reply_state")))
