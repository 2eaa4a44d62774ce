import pytest

from core.line import client as line_client
from core.llm import client as llm_client
from core.redis import get_redis
from tests.redis_keys import delete_own_keys

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
    """Flood counters and contexts live in Redis; each test starts without them (this run's only)."""
    # The manager of the test run's Redis, kept for the clean-up even if the test points elsewhere.
    manager = get_redis()
    delete_own_keys("conv:*", manager)
    yield
    delete_own_keys("conv:*", manager)


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
