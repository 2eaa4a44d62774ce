"""The LINE client's campaign calls against the LINE double: multicast, 409, the monthly limit, quota, narrowcast."""

import uuid

import pytest

from core.errors import LineApiError
from core.line.client import LineClient, MonthlyLimitError, with_retries
from core.redis import RedisManager
from linesim.line.testing import running_line_double

USERS = ["U" + f"{n:032x}" for n in range(3)]
FLEX = {"type": "flex", "altText": "x", "contents": {"type": "bubble"}}


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture
def client(line):
    line.control.reset()
    line.control.configure(monthlyQuota=0)
    client = LineClient(
        api_base_url=line.base_url, data_api_base_url=line.base_url, access_token=line.access_token, timeout=5
    )
    yield client
    client.close()


def test_it_counts_a_repeated_retry_key_as_sent_with_the_first_request_id(client, line):
    key = uuid.uuid4()

    first = client.multicast(USERS, [FLEX], retry_key=key)
    again = client.multicast(USERS, [FLEX], retry_key=key)

    assert (again.duplicate, again.request_id) == (True, first.request_id)
    assert len(line.control.messages(user_id=USERS[0])) == 1


def test_it_raises_the_monthly_limit_as_its_own_error_and_does_not_retry(client, line, settings):
    settings.LINE_API_RETRY_WAIT = 0
    line.control.configure(monthlyQuota=1)

    with pytest.raises(MonthlyLimitError) as error:
        with_retries(lambda: client.multicast(USERS, [FLEX], retry_key=uuid.uuid4()))

    assert error.value.retryable is False
    assert len(line.control.requests(endpoint="multicast")) == 1


def test_it_refuses_more_than_500_recipients_before_calling(client, line):
    with pytest.raises(ValueError):
        client.multicast(["U" + "0" * 32] * 501, [FLEX], retry_key=uuid.uuid4())

    assert line.control.requests(endpoint="multicast") == []


def test_it_reads_the_quota_and_its_consumption(client, line):
    assert client.get_message_quota().limit is None
    line.control.configure(monthlyQuota=50)
    client.multicast(USERS, [FLEX], retry_key=uuid.uuid4())

    assert (client.get_message_quota().limit, client.get_message_quota_consumption()) == (50, 3)


def test_it_follows_a_narrowcast_until_final(client, line):
    line.control.add_followers(USERS)

    sent = client.narrowcast([FLEX], retry_key=uuid.uuid4())
    first, final = client.narrowcast_progress(sent.request_id), client.narrowcast_progress(sent.request_id)

    assert (first.phase, first.is_final) == ("waiting", False)
    assert (final.phase, final.success_count, final.is_final) == ("succeeded", 3, True)


def test_it_raises_a_line_error_for_an_unknown_audience_group(client):
    with pytest.raises(LineApiError) as error:
        client.audience_group(123)

    assert error.value.status == 400 and not error.value.retryable


def test_it_shares_and_refills_the_token_bucket(settings):
    clock = [100.0]
    manager = RedisManager(None, clock=lambda: clock[0])
    manager._local_buckets._clock = lambda: clock[0]

    taken = [manager.take_token("bucket", rate=2, burst=2) for _ in range(3)]
    clock[0] += 0.5

    assert taken[:2] == [0.0, 0.0] and taken[2] == pytest.approx(0.5)
    assert manager.take_token("bucket", rate=2, burst=2) == 0.0


def test_it_makes_callers_wait_on_the_redis_token_bucket(settings):
    manager = RedisManager(settings.REDIS_URL, key_prefix=f"{settings.REDIS_KEY_PREFIX}-bucket-{uuid.uuid4().hex[:6]}")

    waits = [manager.take_token("multicast", rate=5, burst=5) for _ in range(6)]

    assert waits[:5] == [0.0] * 5 and 0 < waits[5] <= 0.2 + 1e-6
