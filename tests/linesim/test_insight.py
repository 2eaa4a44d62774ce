"""The insight endpoints of the LINE double, through the real SDK: figures from what the double recorded, and
LINE's rules (hidden below 20, frozen after 14 days, unready days, 30-day unit periods, 60 requests an hour)."""

import pytest
from linebot.v3.insight import ApiClient as InsightApiClient
from linebot.v3.insight import Configuration as InsightConfiguration
from linebot.v3.insight import Insight
from linebot.v3.insight.exceptions import ApiException as InsightApiException
from linebot.v3.messaging import BroadcastRequest, MulticastRequest, PushMessageRequest, TextMessage

from linesim.line.clock import line_day
from linesim.line.testing import ControlError

DAY = 86400
URL = "https://example.com/sale"
SALE = {"type": "text", "text": f"Sale today: {URL}"}


def user(number: int) -> str:
    return f"U{number:032x}"


@pytest.fixture
def insight(line):
    with InsightApiClient(InsightConfiguration(host=line.base_url, access_token=line.access_token)) as client:
        yield Insight(client)


def befriend(line, count: int, start: int = 1) -> list[str]:
    users = [user(number) for number in range(start, start + count)]
    for user_id in users:
        line.control.send_webhook(type="follow", userId=user_id)
    return users


def broadcast(line, api, *messages) -> str:
    api.broadcast(BroadcastRequest.from_dict({"messages": list(messages or [SALE])}))
    return line.control.requests(endpoint="broadcast")[-1]["requestId"]


def day_of(line, days_from_now: float = 0) -> str:
    return line_day(line.control.clock()["now"] + days_from_now * DAY)


# -- daily counts --------------------------------------------------------------------------------------------------
def test_it_answers_unready_for_today_and_yesterday(line, insight):
    befriend(line, 2)

    today = insight.get_number_of_followers(day_of(line))
    yesterday = insight.get_number_of_followers(day_of(line, -1))

    assert (today.status, today.followers, yesterday.status) == ("unready", None, "unready")


def test_it_counts_followers_and_blocks_as_of_a_past_day(line, insight):
    befriend(line, 3)
    line.control.send_webhook(type="unfollow", userId=user(1))
    counted_day = day_of(line)
    line.control.advance_clock(DAY)
    line.control.block(user_ids=[user(2)])  # the next day: not in the first day's figures
    line.control.advance_clock(DAY)

    figures = insight.get_number_of_followers(counted_day)

    assert (figures.status, figures.followers, figures.targeted_reaches, figures.blocks) == ("ready", 3, 2, 1)


def test_it_answers_out_of_service_before_line_began_counting(insight):
    assert insight.get_number_of_followers("20161031").status == "out_of_service"
    assert insight.get_number_of_message_deliveries("20180330").status == "out_of_service"


def test_it_counts_message_deliveries_of_a_past_day(line, api, insight):
    api.push_message(PushMessageRequest(to=user(1), messages=[TextMessage(text="x")]))
    sent_day = day_of(line)
    assert insight.get_number_of_message_deliveries(sent_day).status == "unready"
    line.control.advance_clock(2 * DAY)

    deliveries = insight.get_number_of_message_deliveries(sent_day)

    assert (deliveries.status, deliveries.api_push, deliveries.api_broadcast) == ("ready", 1, 0)


@pytest.mark.parametrize("date", ["2024-1-1", "20241345"])
def test_it_rejects_a_malformed_date(insight, date):
    with pytest.raises(InsightApiException) as exc_info:
        insight.get_number_of_message_deliveries(date)

    assert exc_info.value.status == 400


def test_it_keeps_demographics_back_below_20_friends(line, insight):
    befriend(line, 19)

    assert insight.get_friends_demographics().available is False


def test_it_describes_the_friends_demographics(line, insight):
    for number in range(1, 21):
        line.control.add_user(user(number), gender="female" if number <= 15 else "male", appType="ios")
    befriend(line, 20)

    demographics = insight.get_friends_demographics()

    assert demographics.available is True
    assert [(tile.gender, tile.percentage) for tile in demographics.genders] == [("female", 75.0), ("male", 25.0)]
    assert [(tile.app_type, tile.percentage) for tile in demographics.app_types] == [("ios", 100.0)]
    assert demographics.subscription_periods[0].subscription_period == "within7days"


def test_it_refuses_an_unknown_demographic_value(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.add_user(user(1), gender="robot")

    assert exc_info.value.status == 400


# -- statistics of a broadcast or narrowcast -----------------------------------------------------------------------
def test_it_hides_figures_below_20(line, api, insight):
    befriend(line, 25)
    request_id = broadcast(line, api)
    line.control.interact("impression", request_id=request_id, users=20)
    line.control.interact("click", request_id=request_id, users=19, url=URL)

    statistics = insight.get_message_event(request_id)

    overview = statistics.overview
    assert (overview.request_id, overview.delivered) == (request_id, 25)
    assert (overview.unique_impression, overview.unique_click) == (20, None)
    assert (statistics.messages[0].seq, statistics.messages[0].impression) == (1, 20)
    assert [(click.url, click.click, click.unique_click) for click in statistics.clicks] == [(URL, None, None)]


def test_it_tells_the_exact_number_delivered_even_below_20(line, api, insight):
    befriend(line, 3)
    request_id = broadcast(line, api)

    assert insight.get_message_event(request_id).overview.delivered == 3


def test_it_hides_a_count_that_fewer_than_20_users_made(line, api, insight):
    befriend(line, 20)
    request_id = broadcast(line, api)
    line.control.interact("impression", request_id=request_id, users=15, times=2)

    statistics = insight.get_message_event(request_id)

    assert (statistics.messages[0].impression, statistics.overview.unique_impression) == (None, None)


def test_it_counts_clicks_per_link_and_per_request(line, api, insight):
    befriend(line, 30)
    second = "https://example.com/more"
    request_id = broadcast(line, api, SALE, {"type": "text", "text": f"{URL} and {second}"})
    line.control.interact("click", request_id=request_id, users=20, seq=1, url=URL)
    line.control.interact("click", request_id=request_id, user_ids=[user(n) for n in range(11, 31)], seq=2, url=URL)

    clicks = {(click.seq, click.url): click for click in insight.get_message_event(request_id).clicks}

    assert set(clicks) == {(1, URL), (2, URL), (2, second)}
    assert (clicks[1, URL].unique_click, clicks[1, URL].unique_click_of_request) == (20, 30)
    assert clicks[2, second].click is None


def test_it_stops_counting_14_days_after_the_send(line, api, insight):
    befriend(line, 40)
    request_id = broadcast(line, api)
    line.control.advance_clock(13 * DAY)
    line.control.interact("impression", request_id=request_id, users=25)
    line.control.advance_clock(DAY + 1)
    line.control.interact("impression", request_id=request_id, users=40)

    assert insight.get_message_event(request_id).overview.unique_impression == 25


def test_it_answers_404_for_a_request_that_is_no_broadcast_or_narrowcast(line, api, insight):
    api.push_message(PushMessageRequest(to=user(1), messages=[TextMessage(text="x")]))
    push_id = line.control.requests(endpoint="pushMessage")[-1]["requestId"]

    for request_id in (push_id, "not-a-request"):
        with pytest.raises(InsightApiException) as exc_info:
            insight.get_message_event(request_id)
        assert exc_info.value.status == 404


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"type": "click", "users": 1}, "a click needs the url"),
        ({"type": "impression", "users": 26}, "only 25 recipients"),
        ({"type": "impression", "userIds": ["U" + "f" * 32]}, "not recipients"),
        ({"type": "impression", "seq": 2}, "has 1 message"),
        ({"type": "glance"}, "type must be one of"),
    ],
)
def test_it_refuses_interactions_that_cannot_happen(line, api, action, message):
    befriend(line, 25)
    request_id = broadcast(line, api)

    with pytest.raises(ControlError) as exc_info:
        line.control.request("POST", "insight/interactions", {"requestId": request_id, **action})

    assert exc_info.value.status == 400
    assert message in exc_info.value.body["message"]


# -- statistics per aggregation unit -------------------------------------------------------------------------------
def multicast(api, users, unit):
    api.multicast(MulticastRequest.from_dict({"to": users, "messages": [SALE], "customAggregationUnits": [unit]}))


def test_it_aggregates_statistics_per_unit(line, api, insight):
    users = befriend(line, 30)
    multicast(api, users[:15], "spring_a")
    multicast(api, users[15:], "spring_a")
    sends = [send["requestId"] for send in line.control.insight_sends()]
    line.control.interact("impression", request_id=sends[0], users=15)
    line.control.interact("impression", request_id=sends[1], users=15)
    today = day_of(line)

    statistics = insight.get_statistics_per_unit("spring_a", today, today)

    assert statistics.overview.unique_impression == 30
    assert (statistics.messages[0].impression, statistics.messages[0].unique_impression) == (30, 30)


def test_it_counts_only_sends_of_the_period(line, api, insight):
    users = befriend(line, 25)
    multicast(api, users, "spring_a")
    line.control.interact("impression", unit="spring_a", users=25)
    tomorrow = day_of(line, 1)

    statistics = insight.get_statistics_per_unit("spring_a", tomorrow, tomorrow)

    assert (statistics.overview.unique_impression, statistics.messages) == (None, [])


@pytest.mark.parametrize(
    ("unit", "start", "end"),
    [("spring_a", "20240101", "20240201"), ("spring_a", "20240110", "20240101"), ("spring-a", "20240101", "20240101")],
)
def test_it_refuses_a_period_over_30_days_or_a_bad_unit_name(insight, unit, start, end):
    with pytest.raises(InsightApiException) as exc_info:
        insight.get_statistics_per_unit(unit, start, end)

    assert exc_info.value.status == 400


def test_it_accepts_a_period_of_exactly_30_days(insight):
    assert insight.get_statistics_per_unit("spring_a", "20240101", "20240131").messages == []


def test_it_does_not_keep_statistics_of_a_push_without_a_unit(line, api):
    api.push_message(PushMessageRequest(to=user(1), messages=[TextMessage(text="x")]))

    assert line.control.insight_sends() == []


# -- limits and the clock ------------------------------------------------------------------------------------------
def test_it_allows_60_insight_requests_an_hour(line, insight):
    for _ in range(60):
        insight.get_friends_demographics()
    with pytest.raises(InsightApiException) as exc_info:
        insight.get_friends_demographics()
    assert exc_info.value.status == 429

    line.control.advance_clock(3600)

    assert insight.get_friends_demographics().available is False


def test_it_moves_the_clock_only_forward_and_resets_it_with_the_double(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.advance_clock(-1)
    assert exc_info.value.status == 400

    line.control.advance_clock(DAY)
    assert line.control.clock()["offsetSeconds"] == DAY
    line.control.reset()
    assert line.control.clock()["offsetSeconds"] == 0
