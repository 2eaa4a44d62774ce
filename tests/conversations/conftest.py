import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group

from accounts import roles
from core.config.services import setting_update

from .events import SECRET, Events, body_of, sign


@pytest.fixture(autouse=True)
def _conversation_settings(settings):
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 50.0


@pytest.fixture(autouse=True)
def _clean_conversation_keys():
    """Flood counters and contexts live in Redis; each test starts without them."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    # Only this run's keys: the prefix is unique to the test run.
    pattern = f"{settings.REDIS_KEY_PREFIX}:conv:*"
    for key in client.scan_iter(pattern):
        client.delete(key)
    yield
    for key in client.scan_iter(pattern):
        client.delete(key)


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
