"""The LINE client's message validation and its wire form of messages, against the LINE double."""

import pytest

from core.errors import LineApiError
from core.line.client import get_line_client, messages_as_sent, reset_line_client
from linesim.line.testing import running_line_double

BUBBLE = {
    "type": "bubble",
    "size": "kilo",
    "hero": {"type": "image", "url": "https://example.com/a.jpg", "aspectRatio": "3:2"},
    "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "Hi"}]},
}


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture
def client(line, settings):
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    line.control.reset()
    reset_line_client()
    yield get_line_client()
    reset_line_client()


def test_it_validates_messages_without_sending_them(client, line):
    client.validate_push_messages([{"type": "flex", "altText": "Hi", "contents": BUBBLE}])

    [request] = line.control.requests()
    assert request["endpoint"] == "validatePush" and request["status"] == 200
    assert line.control.messages() == []


def test_it_raises_lines_refusal_with_its_details(client):
    with pytest.raises(LineApiError) as raised:
        client.validate_push_messages([{"type": "text", "text": "x" * 5001}])

    assert raised.value.status == 400 and not raised.value.retryable
    assert '"property":"messages[0].text"' in raised.value.details["body"].replace(" ", "")


def test_it_gives_messages_in_the_form_it_sends_them():
    [sent] = messages_as_sent([{"type": "flex", "altText": "Hi", "contents": BUBBLE}])

    assert sent["contents"]["hero"]["animated"] is False  # a default the SDK adds
    assert messages_as_sent([sent]) == [sent]


def test_it_refuses_a_message_it_cannot_express():
    with pytest.raises(ValueError):
        messages_as_sent([{"type": "flex", "altText": "Hi", "contents": {"type": "bubble", "hero": {"type": "image"}}}])
