"""Campaigns for real: a Celery worker process on RabbitMQ sends through the LINE double (real SDK)."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from django.db import connection

from linesim.line.testing import running_line_double
from tests.conversations.e2e.conftest import BROKER, Worker, _delete_queue
from tests.conversations.e2e.conftest import _publish_to_broker as publish_to_broker_fixture

TOKEN = "campaign-e2e-token"
# The test process publishes to the real broker (a fixture shared with the conversations end-to-end tests).
_publish_to_broker = publish_to_broker_fixture


@pytest.fixture(scope="module")
def line():
    with running_line_double(access_token=TOKEN) as handle:
        yield handle


@pytest.fixture(scope="module")
def queue_name():
    return f"campaigns-e2e-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def worker_env(django_db_setup, django_db_blocker, line, queue_name):
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "CELERY_EAGER": "0",
        "CELERY_BROKER_URL": BROKER,
        "CAMPAIGN_TASK_QUEUE": queue_name,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": line.base_url,
        "LINE_DATA_API_BASE_URL": line.base_url,
        "LINE_API_RETRY_WAIT": "0.05",
    }


@pytest.fixture(scope="module")
def worker(worker_env, queue_name, tmp_path_factory):
    process = Worker(worker_env, queue_name, tmp_path_factory.mktemp("worker") / "worker.log")
    process.start()
    yield process
    process.stop()
    _delete_queue(queue_name)


@pytest.fixture
def live(transactional_db, line, worker, queue_name, _publish_to_broker, settings):
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = TOKEN
    settings.LINE_API_RETRY_WAIT = 0.05
    settings.CAMPAIGN_TASK_QUEUE = queue_name
    line.control.reset()
    line.control.configure(monthlyQuota=0)
    yield line
    line.control.clear_faults()


def wait_for(condition, timeout: float = 60, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not reached within {timeout} s")
