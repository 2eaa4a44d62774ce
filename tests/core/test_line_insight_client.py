"""The insight calls of the LINE client, against the in-thread LINE double with the real SDK."""

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from linebot.v3.messaging import ApiClient, BroadcastRequest, Configuration, MessagingApi

from core.errors import LineApiError
from core.line.client import get_line_client
from core.line.dates import line_day
from linesim.line.testing import running_line_double

ROOT = Path(__file__).resolve().parents[2]
URL = "https://example.com/sale"


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
    return get_line_client()


def broadcast_to(line, count: int) -> str:
    for number in range(1, count + 1):
        line.control.send_webhook(type="follow", userId=f"U{number:032x}")
    with ApiClient(Configuration(host=line.base_url, access_token=line.access_token)) as api_client:
        body = {"messages": [{"type": "text", "text": f"Sale: {URL}"}]}
        MessagingApi(api_client).broadcast(BroadcastRequest.from_dict(body))
    return line.control.requests(endpoint="broadcast")[-1]["requestId"]


def test_it_does_not_load_the_insight_sdk_on_import():
    code = "import sys, core.line.client; print('linebot.v3.insight' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_it_reads_a_broadcasts_statistics_with_hidden_figures_as_none(line, client):
    request_id = broadcast_to(line, 21)
    line.control.interact("impression", request_id=request_id, users=21)
    line.control.interact("click", request_id=request_id, users=2, url=URL)

    statistics = client.get_message_event(request_id)

    assert statistics["overview"]["delivered"] == 21
    assert (statistics["overview"]["uniqueImpression"], statistics["overview"]["uniqueClick"]) == (21, None)
    assert statistics["clicks"][0]["url"] == URL and statistics["clicks"][0]["uniqueClick"] is None


def test_it_asks_for_line_days(line, client):
    today = datetime.strptime(line.control.clock()["lineDay"], "%Y%m%d").date()

    assert client.get_number_of_followers(today) == {"status": "unready"}
    assert client.get_number_of_message_deliveries(today - timedelta(days=2))["status"] == "ready"
    assert client.get_statistics_per_unit("spring_a", today, today) == {
        "overview": {
            "uniqueImpression": None,
            "uniqueClick": None,
            "uniqueMediaPlayed": None,
            "uniqueMediaPlayed100Percent": None,
        },
        "messages": [],
        "clicks": [],
    }
    assert client.get_friends_demographics() == {"available": False}


def test_it_turns_a_refusal_into_a_line_api_error(line, client):
    with pytest.raises(LineApiError) as not_found:
        client.get_message_event("no-such-request")
    line.control.set_rate_limit("getFriendsDemographics", 1, 3600)
    client.get_friends_demographics()
    with pytest.raises(LineApiError) as limited:
        client.get_friends_demographics()

    assert (not_found.value.status, not_found.value.retryable) == (404, False)
    assert (limited.value.status, limited.value.retryable) == (429, True)
    assert limited.value.details["endpoint"] == "insight_demographics"


def test_it_counts_line_days_in_utc_plus_9():
    assert line_day(datetime(2025, 3, 1, 14, 59, tzinfo=UTC)) == date(2025, 3, 1)
    assert line_day(datetime(2025, 3, 1, 15, 0, tzinfo=UTC)) == date(2025, 3, 2)
