"""The rich-message path for real: a live server, a Celery worker on RabbitMQ, the LINE and LLM doubles, and
Debian's Chromium on the ops console and the LINE simulator. The fixtures are those of the conversations' own
end-to-end tests and of the console's browser tests."""

from tests.conversations.e2e.conftest import (  # noqa: F401
    _publish_to_broker,
    bot,
    doubles,
    queue_name,
    worker,
    worker_env,
)
from tests.richmessages.browser.conftest import browser, page_as  # noqa: F401
