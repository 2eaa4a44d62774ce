import pytest
from celery import signals
from django.contrib.auth.models import Group

from accounts import roles
from conversations.signals import line_event_handled
from core import correlation
from core.config.services import setting_update
from core.redis import get_redis
from linebot_project.celery import app as celery_app
from tests.redis_keys import delete_own_keys

from .events import SECRET, Events, body_of, sign


@pytest.fixture(autouse=True)
def _conversation_settings(settings):
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 50.0


@pytest.fixture(autouse=True)
def _clean_conversation_keys():
    """Flood counters and contexts live in Redis; each test starts without them (this run's only)."""
    # The manager of the test run's Redis, kept for the clean-up even if the test points elsewhere.
    manager = get_redis()
    delete_own_keys("conv:*", manager)
    yield
    delete_own_keys("conv:*", manager)


@pytest.fixture
def events(line):
    return Events(line)


@pytest.fixture
def post_events(client, django_capture_on_commit_callbacks, line, llm):
    """Posts signed events to the webhook and runs what it queued (tasks run eagerly, against the doubles)."""

    def post(*events, body: bytes | None = None, signature: str | None = None, **headers):
        raw = body if body is not None else body_of(*events)
        extra = {"HTTP_X_LINE_SIGNATURE": signature if signature is not None else sign(raw)}
        extra.update(headers)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/line/webhook", data=raw, content_type="application/json", **extra)

    return post


@pytest.fixture
def administrator(django_user_model):
    """Runtime settings change only through core.config.services, by someone allowed to: an Administrator."""
    user = django_user_model.objects.create_user("ada", password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    return user


@pytest.fixture
def runtime_setting(administrator):
    """``runtime_setting("features.web_search", True)`` changes a runtime setting as an Administrator would."""

    def change(key, value):
        setting_update(key=key, value=value, actor=administrator, reason="test")

    return change


@pytest.fixture
def published():
    """Task names published to the broker (the in-memory one of the tests), in order."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    names: list[str] = []

    def record(sender=None, **kwargs):
        names.append(sender)

    signals.before_task_publish.connect(record, weak=False)
    yield names
    signals.before_task_publish.disconnect(record)
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def handled_under():
    """``handled_under(run)``: runs ``run()`` as a worker that made up an id for a message without one.

    Returns the correlation id each event was handled under, and the id bound once ``run()`` is over.
    """

    def run_as_worker(run) -> tuple[list[str | None], str | None]:
        seen: list[str | None] = []

        def record(**kwargs):
            seen.append(correlation.current())

        line_event_handled.connect(record, weak=False)
        try:
            with correlation.kept():
                correlation.bind("made-up-by-the-worker")  # the relay's messages carry no id
                run()
                after = correlation.current()
        finally:
            line_event_handled.disconnect(record)
        return seen, after

    return run_as_worker


@pytest.fixture
def stored(settings, post_events, events):
    """Posts texts that the web tier only stores (the outbox's ack); returns their rows, oldest first."""
    from conversations.models import WebhookEvent

    settings.CONVERSATION_DISPATCH = "outbox"

    def store(*texts):
        post_events(*(events.text(text) for text in texts))
        return list(WebhookEvent.objects.order_by("pk"))

    return store
