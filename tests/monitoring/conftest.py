"""Shared helpers of the monitoring tests: the doubles for tests that send a real webhook through the bot,
and signed-in sessions for dashboard sockets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
import pytest_asyncio
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from prometheus_client import REGISTRY

from accounts.sessions import LAST_SEEN, STARTED_AT
from linebot_project.routing import websocket_application
from linesim.line.testing import running_line_double
from linesim.llm.testing import running_llm_double

SECRET = "monitoring-channel-secret"
TOKEN = "monitoring-access-token"


def metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def signed(events: list[dict]) -> tuple[bytes, str]:
    body = json.dumps({"destination": "U" + "0" * 32, "events": events}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, signature


def text_event(user_id: str, reply_token: str, text: str = "Hello") -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1_700_000_000_000,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "message": {"id": str(uuid.uuid4().int)[:14], "type": "text", "text": text, "quoteToken": "q"},
    }


@pytest.fixture(scope="module")
def doubles():
    with (
        running_line_double(channel_secret=SECRET, access_token=TOKEN) as line,
        running_llm_double(latency_ms=0) as llm,
    ):
        yield line, llm


@pytest.fixture
def bot(doubles, settings):
    """Settings that point the bot at the doubles, reset for each test; yields (line, llm)."""
    line, llm = doubles
    line.control.reset()
    llm.control.reset()
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = TOKEN
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_API_RETRY_WAIT = 0.0
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 50.0
    for name, value in llm.env().items():
        setattr(settings, name, value)
    yield line, llm


@pytest.fixture
def webhook(client, bot, django_capture_on_commit_callbacks):
    """Posts one signed text event from a new user, as LINE would; tasks run in-process (eagerly)."""
    line, _ = bot

    def post(text: str = "Hello", *, reply_token_ttl: float | None = None, headers: dict | None = None):
        user_id = line.control.add_user(display_name="Metrics")["userId"]
        token = line.control.issue_reply_token(user_id, ttl=reply_token_ttl)
        body, signature = signed([text_event(user_id, token, text)])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/line/webhook",
                data=body,
                content_type="application/json",
                HTTP_X_LINE_SIGNATURE=signature,
                **(headers or {}),
            )
        assert response.status_code == 200, response.content
        return user_id

    return post


PASSWORD = "correct horse battery staple 9"


@pytest.fixture
def make_staff(django_user_model):
    def make(username, *, role=None, staff=True):
        user = django_user_model.objects.create_user(username, password=PASSWORD, email=f"{username}@example.test")
        if role:
            user.groups.add(Group.objects.get(name=role))
        user.is_staff = staff
        user.save()
        return user

    return make


def session_for(user, *, verified=True, started=None, last_seen=None) -> str:
    """A stored session as the ops console's sign-in leaves it (password, then the TOTP code)."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    now = time.time()
    session[STARTED_AT] = started if started is not None else now
    session[LAST_SEEN] = last_seen if last_seen is not None else now
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="authenticator", confirmed=True
        )
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return session.session_key


def dashboard_socket(name: str, session_key: str | None = None, origin: str | None = "http://testserver"):
    headers = []
    if origin:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(websocket_application(), f"/ws/dashboards/{name}/", headers=headers)


@pytest_asyncio.fixture
async def close_thread_connections():
    """Consumers reach the database from asgiref's shared thread; its connection must not outlive the test."""
    from channels.db import database_sync_to_async
    from django.db import connections

    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def _no_saved_snapshots():
    """A snapshot one test saved is not the next test's "latest"."""
    from core.redis import get_redis
    from monitoring.dashboards.store import snapshot_key
    from tests.redis_keys import delete_own_keys

    delete_own_keys(snapshot_key("*"), get_redis())
    yield
