"""The real async line-bot-sdk (AsyncMessagingApi, aiohttp underneath) against the LINE double."""

import json
import uuid

import aiohttp
import pytest
import pytest_asyncio
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException

from linesim.line.webhook import BLANK_PNG

USER = "U" + "8" * 32
pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def async_client(line):
    async with AsyncApiClient(Configuration(host=line.base_url, access_token=line.access_token)) as client:
        yield client


def push_request(text="hi"):
    return PushMessageRequest(to=USER, messages=[TextMessage(text=text)])


async def test_it_pushes_with_the_async_client(line, async_client):
    response = await AsyncMessagingApi(async_client).push_message(push_request("async hello"))

    assert response.sent_messages[0].id == line.control.messages(user_id=USER)[0]["messageId"]


async def test_it_rejects_a_spent_reply_token_for_the_async_client(line, async_client):
    api = AsyncMessagingApi(async_client)
    token = line.control.issue_reply_token(USER)
    await api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="1")]))

    with pytest.raises(ApiException) as exc_info:
        await api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="2")]))

    assert exc_info.value.status == 400
    assert json.loads(exc_info.value.body) == {"message": "Invalid reply token"}


async def test_it_rejects_a_long_text_for_the_async_client(async_client):
    with pytest.raises(ApiException) as exc_info:
        await AsyncMessagingApi(async_client).push_message(push_request("a" * 5001))

    assert json.loads(exc_info.value.body)["details"][0]["property"] == "messages[0].text"


async def test_it_answers_a_repeated_retry_key_for_the_async_client(async_client):
    api = AsyncMessagingApi(async_client)
    key = str(uuid.uuid4())
    await api.push_message(push_request(), x_line_retry_key=key)

    with pytest.raises(ApiException) as exc_info:
        await api.push_message(push_request(), x_line_retry_key=key)

    assert exc_info.value.status == 409
    assert exc_info.value.headers["x-line-accepted-request-id"]


async def test_it_injects_503_for_the_async_client(line, async_client):
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 503, "rate": 1.0}])

    with pytest.raises(ApiException) as exc_info:
        await AsyncMessagingApi(async_client).push_message(push_request())

    assert exc_info.value.status == 503


async def test_it_drops_connections_for_the_async_client(line, async_client):
    line.control.set_faults(drop_rate=1.0)

    with pytest.raises(aiohttp.ClientError):
        await AsyncMessagingApi(async_client).push_message(push_request())


async def test_it_rate_limits_the_async_client(line, async_client):
    line.control.set_rate_limit("pushMessage", 1, per_seconds=60)
    api = AsyncMessagingApi(async_client)
    await api.push_message(push_request())

    with pytest.raises(ApiException) as exc_info:
        await api.push_message(push_request())

    assert exc_info.value.status == 429


async def test_it_serves_content_to_the_async_blob_client(line, async_client, receiver):
    sent = line.control.send_webhook(type="image", userId=USER)

    content = await AsyncMessagingApiBlob(async_client).get_message_content(sent["event"]["message"]["id"])

    assert bytes(content) == BLANK_PNG
