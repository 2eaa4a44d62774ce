"""The LINE and LLM doubles for tests that send a real webhook through the bot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import pytest
from prometheus_client import REGISTRY

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
