import pytest
import redis
from django.conf import settings

from core.line import client as line_client
from core.llm import client as llm_client

from .fakes import SECRET, FakeLine, FakeLLM, body_of, sign


@pytest.fixture(autouse=True)
def _conversation_settings(settings):
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = "unit-test-token"
    settings.LINE_API_RETRY_WAIT = 0.0
    settings.CONVERSATION_MESSAGES_PER_MINUTE = 20
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
def fake_line(monkeypatch):
    fake = FakeLine()
    monkeypatch.setattr(line_client._client, "get", lambda: fake)
    return fake


@pytest.fixture
def fake_llm(monkeypatch):
    fake = FakeLLM()
    monkeypatch.setattr(llm_client._client, "get", lambda: fake)
    return fake


@pytest.fixture
def post_events(client, django_capture_on_commit_callbacks):
    """Posts signed events to the webhook and runs what it queued (tasks run eagerly)."""

    def post(*events, body: bytes | None = None, signature: str | None = None, **headers):
        raw = body if body is not None else body_of(*events)
        extra = {"HTTP_X_LINE_SIGNATURE": signature if signature is not None else sign(raw)}
        extra.update(headers)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/line/webhook", data=raw, content_type="application/json", **extra)

    return post
