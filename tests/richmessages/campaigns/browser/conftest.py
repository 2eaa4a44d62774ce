"""The campaign console in Chromium, against a real Celery worker on RabbitMQ and the LINE double."""

from tests.richmessages.browser.conftest import browser, page_as
from tests.richmessages.campaigns.e2e.conftest import (
    _publish_to_broker,
    line,
    live,
    queue_name,
    wait_for,
    worker,
    worker_env,
)

__all__ = [
    "_publish_to_broker",
    "browser",
    "line",
    "live",
    "page_as",
    "queue_name",
    "wait_for",
    "worker",
    "worker_env",
]
