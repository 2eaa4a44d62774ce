from datetime import UTC, datetime, timedelta

import pytest
from linebot.v3.messaging import ApiClient, BroadcastRequest, Configuration, MessagingApi, MulticastRequest

from core.line.dates import LINE_TIMEZONE
from core.redis import get_redis
from linesim.line.testing import running_line_double
from tests.redis_keys import delete_own_keys

URL = "https://example.com/sale"
SALE = {"type": "text", "text": f"Spring sale: {URL}"}
INSIGHT_ENDPOINTS = (
    "getNumberOfFollowers",
    "getNumberOfMessageDeliveries",
    "getFriendsDemographics",
    "getMessageEvent",
    "getStatisticsPerUnit",
)


def user(number: int) -> str:
    return f"U{number:032x}"


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture(autouse=True)
def _line_settings(line, settings):
    # Changing LINE_* settings drops the cached client, so the next call goes to the double.
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    settings.LINE_INSIGHT_REQUESTS_PER_HOUR = 60
    settings.INSIGHT_REFRESH_SECONDS = 6 * 3600
    settings.INSIGHT_UNREADY_RETRY_SECONDS = 3 * 3600
    settings.INSIGHT_BACKFILL_DAYS = 2
    line.control.reset()


@pytest.fixture(autouse=True)
def _clean_insight_keys():
    """The budget, the sync's lock and its failure notes live in Redis; each test starts without them."""
    manager = get_redis()

    def clean():
        for name_glob in ("line:budget:*", "insight:*"):
            delete_own_keys(name_glob, manager)

    clean()
    yield
    clean()


class Clocks:
    """The present as the sync sees it (``now``) and the double's clock, moved forward together."""

    def __init__(self, line):
        self.line = line
        # Noon in UTC+9, so that no test straddles LINE's midnight.
        here = datetime.fromtimestamp(line.control.clock()["now"], LINE_TIMEZONE)
        noon = here.replace(hour=12, minute=0, second=0, microsecond=0)
        if noon <= here:
            noon += timedelta(days=1)
        line.control.advance_clock((noon - here).total_seconds())
        self.now = noon.astimezone(UTC)

    def advance(self, **delta) -> datetime:
        step = timedelta(**delta)
        self.line.control.advance_clock(step.total_seconds())
        self.now += step
        return self.now


@pytest.fixture
def clocks(line, _line_settings):
    return Clocks(line)


@pytest.fixture
def messaging(line):
    with ApiClient(Configuration(host=line.base_url, access_token=line.access_token)) as client:
        yield MessagingApi(client)


class Sender:
    """Acts as the campaigns that send: friends, broadcasts and multicasts at the double."""

    def __init__(self, line, messaging):
        self.line, self.messaging = line, messaging

    def befriend(self, count: int, start: int = 1) -> list[str]:
        users = [user(number) for number in range(start, start + count)]
        for user_id in users:
            self.line.control.send_webhook(type="follow", userId=user_id)
        return users

    def broadcast(self, message=SALE) -> str:
        self.messaging.broadcast(BroadcastRequest.from_dict({"messages": [message]}))
        return self.line.control.requests(endpoint="broadcast")[-1]["requestId"]

    def multicast(self, users: list[str], unit: str) -> str:
        body = {"to": users, "messages": [SALE], "customAggregationUnits": [unit]}
        self.messaging.multicast(MulticastRequest.from_dict(body))
        return self.line.control.requests(endpoint="multicast")[-1]["requestId"]


@pytest.fixture
def sender(line, messaging):
    return Sender(line, messaging)


def insight_requests(line, endpoint: str | None = None) -> list[dict]:
    """The insight requests the double received (all of them, or one operation's)."""
    wanted = (endpoint,) if endpoint else INSIGHT_ENDPOINTS
    return [entry for entry in line.control.requests() if entry["endpoint"] in wanted]
