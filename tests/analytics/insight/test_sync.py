"""The LINE Insight sync against the in-thread LINE double, through the real SDK."""

from datetime import timedelta

import pytest
from django.conf import settings

from analytics.insight_models import (
    DeliverySnapshot,
    DemographicSnapshot,
    FollowerSnapshot,
    MessageEventSnapshot,
    TrackedRequest,
    UnitSnapshot,
)
from analytics.insight_services import insight_track_request, insight_track_unit
from analytics.insight_sync import insight_sync
from analytics.insight_tasks import sync_line_insight
from core.line.dates import line_day
from core.redis import get_redis

from .conftest import URL, insight_requests

pytestmark = pytest.mark.django_db


def track_broadcast(sender, clocks, campaign_id=7):
    request_id = sender.broadcast()
    insight_track_request(request_id, sent_at=clocks.now, kind="broadcast", campaign_id=campaign_id)
    return request_id


# -- daily counts --------------------------------------------------------------------------------------------------
def test_it_stores_follower_delivery_and_demographic_snapshots_of_past_days(line, clocks, sender):
    users = sender.befriend(3)
    line.control.send_webhook(type="unfollow", userId=users[0])
    sender.broadcast()
    counted_day = line_day(clocks.now)
    clocks.advance(days=2)

    insight_sync(now=clocks.now)

    followers = FollowerSnapshot.objects.get(date=counted_day)
    assert (followers.status, followers.followers, followers.targeted_reaches, followers.blocks) == ("ready", 3, 2, 1)
    deliveries = DeliverySnapshot.objects.get(date=counted_day)
    assert (deliveries.status, deliveries.api_broadcast, deliveries.broadcast) == ("ready", 2, None)
    yesterday = FollowerSnapshot.objects.get(date=line_day(clocks.now) - timedelta(days=1))
    assert (yesterday.status, yesterday.followers, yesterday.final) == ("unready", None, False)
    assert DemographicSnapshot.objects.get(date=line_day(clocks.now)).available is False


def test_it_asks_again_for_an_unready_day_only_after_the_retry_delay(line, clocks, sender):
    sender.befriend(2)
    clocks.advance(days=1)
    insight_sync(now=clocks.now)
    yesterday = FollowerSnapshot.objects.get(date=line_day(clocks.now) - timedelta(days=1))
    asked = len(insight_requests(line, "getNumberOfFollowers"))

    clocks.advance(hours=2)
    insight_sync(now=clocks.now)
    assert len(insight_requests(line, "getNumberOfFollowers")) == asked

    clocks.advance(days=1)  # the day LINE answered "unready" for is ready now
    insight_sync(now=clocks.now)

    again = FollowerSnapshot.objects.get(pk=yesterday.pk)
    assert (again.status, again.followers, again.fetch_count) == ("ready", 2, 2)
    assert again.fetched_at == clocks.now


def test_it_never_fetches_a_ready_day_again(line, clocks):
    insight_sync(now=clocks.now)

    clocks.advance(hours=7)
    insight_sync(now=clocks.now)

    today = line_day(clocks.now)
    ready = FollowerSnapshot.objects.get(date=today - timedelta(days=2))
    unready = FollowerSnapshot.objects.get(date=today - timedelta(days=1))
    assert (ready.status, ready.fetch_count, unready.status, unready.fetch_count) == ("ready", 1, "unready", 2)


def test_it_asks_again_for_a_day_that_failed_only_after_the_retry_delay(line, clocks):
    line.control.set_faults(errors=[{"endpoint": "getNumberOfMessageDeliveries", "status": 503, "rate": 1.0}])
    first = insight_sync(now=clocks.now)
    days = [line_day(clocks.now) - timedelta(days=n) for n in (2, 1)]
    assert sorted(first.failed) == [f"deliveries:{day:%Y%m%d}" for day in days]
    line.control.clear_faults()

    clocks.advance(hours=1)
    insight_sync(now=clocks.now)
    assert DeliverySnapshot.objects.count() == 0

    clocks.advance(hours=2)
    insight_sync(now=clocks.now)

    assert DeliverySnapshot.objects.count() == 2
    assert len(insight_requests(line, "getNumberOfMessageDeliveries")) == 4


def test_it_keeps_the_demographics_of_each_day(line, clocks, sender):
    for number in range(1, 21):
        line.control.add_user(f"U{number:032x}", gender="female" if number % 2 else "male")
    sender.befriend(20)

    insight_sync(now=clocks.now)

    snapshot = DemographicSnapshot.objects.get(date=line_day(clocks.now))
    assert snapshot.available is True
    assert snapshot.genders == [{"gender": "female", "percentage": 50.0}, {"gender": "male", "percentage": 50.0}]


# -- a broadcast's statistics --------------------------------------------------------------------------------------
def test_it_snapshots_a_broadcast_and_updates_the_same_snapshot(line, clocks, sender):
    sender.befriend(25)
    request_id = track_broadcast(sender, clocks)
    line.control.interact("impression", request_id=request_id, users=20)
    insight_sync(now=clocks.now)
    first = MessageEventSnapshot.objects.get(request__request_id=request_id)

    line.control.interact("impression", request_id=request_id, user_ids=[f"U{n:032x}" for n in range(21, 26)])
    line.control.interact("click", request_id=request_id, users=21, url=URL)
    clocks.advance(hours=6)
    insight_sync(now=clocks.now)

    again = MessageEventSnapshot.objects.get(request__request_id=request_id)
    assert again.pk == first.pk
    assert (first.delivered, first.unique_impression, first.unique_click) == (25, 20, None)
    assert (again.unique_impression, again.unique_click, again.fetch_count) == (25, 21, 2)
    assert again.clicks[0]["url"] == URL and again.clicks[0]["uniqueClick"] == 21
    assert (again.fetched_at, again.date, again.final) == (clocks.now, line_day(clocks.now), False)


def test_it_stores_a_figure_below_20_as_hidden_not_zero(line, clocks, sender):
    sender.befriend(25)
    request_id = track_broadcast(sender, clocks)
    line.control.interact("impression", request_id=request_id, users=22)
    line.control.interact("click", request_id=request_id, users=5, url=URL)

    insight_sync(now=clocks.now)

    snapshot = MessageEventSnapshot.objects.get(request__request_id=request_id)
    assert (snapshot.unique_impression, snapshot.unique_click) == (22, None)
    assert "unique_click" in snapshot.hidden and "unique_impression" not in snapshot.hidden
    assert snapshot.clicks[0]["click"] is None
    assert MessageEventSnapshot.objects.filter(unique_click=0).count() == 0


def test_it_waits_for_the_refresh_delay_before_fetching_a_request_again(line, clocks, sender):
    sender.befriend(1)
    track_broadcast(sender, clocks)
    insight_sync(now=clocks.now)

    clocks.advance(hours=5)
    insight_sync(now=clocks.now)

    assert len(insight_requests(line, "getMessageEvent")) == 1


def test_it_fetches_nothing_once_14_days_have_passed(line, clocks, sender):
    sender.befriend(30)
    request_id = track_broadcast(sender, clocks)
    line.control.interact("impression", request_id=request_id, users=20)
    insight_sync(now=clocks.now)
    clocks.advance(days=14, seconds=1)
    line.control.interact("impression", request_id=request_id, users=30)

    report = insight_sync(now=clocks.now)

    assert len(insight_requests(line, "getMessageEvent")) == 1
    snapshot = MessageEventSnapshot.objects.get(request__request_id=request_id)
    assert (snapshot.unique_impression, snapshot.final, report.finished) == (20, True, 1)
    assert TrackedRequest.objects.get(request_id=request_id).finished_at == clocks.now


def test_it_catches_the_last_figures_in_the_hour_before_line_stops_updating(line, clocks, sender, settings):
    settings.INSIGHT_REFRESH_SECONDS = 30 * 86400  # only the closing fetch is due
    sender.befriend(30)
    request_id = track_broadcast(sender, clocks)
    insight_sync(now=clocks.now)
    clocks.advance(days=13, hours=22)
    line.control.interact("impression", request_id=request_id, users=30)
    insight_sync(now=clocks.now)
    assert len(insight_requests(line, "getMessageEvent")) == 1

    clocks.advance(hours=1, minutes=30)
    insight_sync(now=clocks.now)

    assert len(insight_requests(line, "getMessageEvent")) == 2
    assert MessageEventSnapshot.objects.get(request__request_id=request_id).unique_impression == 30


def test_it_notes_a_failed_fetch_and_tries_it_again_later(line, clocks):
    insight_track_request("0a1b2c3d-unknown", sent_at=clocks.now, kind="narrowcast")

    report = insight_sync(now=clocks.now)
    clocks.advance(minutes=10)
    insight_sync(now=clocks.now)

    tracked = TrackedRequest.objects.get(request_id="0a1b2c3d-unknown")
    assert report.failed == ["request:0a1b2c3d-unknown"]
    assert "404" in tracked.last_error and not hasattr(tracked, "snapshot")
    assert len(insight_requests(line, "getMessageEvent")) == 1


# -- units ---------------------------------------------------------------------------------------------------------
def test_it_follows_a_unit_over_its_period(line, clocks, sender):
    users = sender.befriend(30)
    sender.multicast(users[:22], "spring_a")
    insight_track_unit("spring_a", first_sent=clocks.now, campaign_id=9)
    line.control.interact("impression", unit="spring_a", users=22)
    first_day = line_day(clocks.now)
    insight_sync(now=clocks.now)
    snapshot = UnitSnapshot.objects.get(unit__unit="spring_a")
    assert (snapshot.date_from, snapshot.date_to, snapshot.unique_impression) == (first_day, first_day, 22)

    clocks.advance(days=10)
    sender.multicast(users[22:], "spring_a")
    insight_track_unit("spring_a", first_sent=clocks.now, campaign_id=9)
    line.control.interact("impression", unit="spring_a", users=8)
    insight_sync(now=clocks.now)

    snapshot.refresh_from_db()
    assert (snapshot.date_from, snapshot.date_to, snapshot.unique_impression) == (
        first_day,
        line_day(clocks.now),
        30,
    )
    assert snapshot.fetch_count == 2


def test_it_stops_following_a_unit_14_days_after_its_last_send(line, clocks, sender):
    users = sender.befriend(2)
    sender.multicast(users, "spring_a")
    insight_track_unit("spring_a", first_sent=clocks.now)
    insight_sync(now=clocks.now)
    clocks.advance(days=14, minutes=1)

    insight_sync(now=clocks.now)

    assert len(insight_requests(line, "getStatisticsPerUnit")) == 1
    assert UnitSnapshot.objects.get(unit__unit="spring_a").final is True


def test_it_asks_for_at_most_30_days_of_a_unit(line, clocks, sender):
    users = sender.befriend(2)
    sender.multicast(users, "spring_a")
    insight_track_unit("spring_a", first_sent=clocks.now)
    first_day = line_day(clocks.now)
    clocks.advance(days=25)
    insight_track_unit("spring_a", first_sent=clocks.now)  # a later send keeps the unit followed
    clocks.advance(days=10)

    insight_sync(now=clocks.now)

    snapshot = UnitSnapshot.objects.get(unit__unit="spring_a")
    assert (snapshot.date_from, snapshot.date_to) == (first_day, first_day + timedelta(days=30))


# -- LINE's limit --------------------------------------------------------------------------------------------------
def test_it_spends_at_most_60_requests_an_hour_and_resumes_the_next_hour(line, clocks, sender, settings):
    settings.INSIGHT_BACKFILL_DAYS = 0
    line.control.set_rate_limit("broadcast", 100, 3600)
    sender.befriend(1)
    for _ in range(61):
        track_broadcast(sender, clocks)

    first = insight_sync(now=clocks.now)
    assert (len(insight_requests(line)), first.stopped, first.waiting) == (60, "budget", 2)
    clocks.advance(minutes=30)
    insight_sync(now=clocks.now)
    assert len(insight_requests(line)) == 60

    clocks.advance(minutes=31)
    last = insight_sync(now=clocks.now)

    assert len(insight_requests(line)) == 62
    assert (last.stopped, MessageEventSnapshot.objects.count()) == (None, 61)
    assert DemographicSnapshot.objects.count() == 1
    assert line.control.requests(status=429) == []


def test_it_backs_off_after_a_429_without_failing(line, clocks, sender, settings):
    settings.INSIGHT_BACKFILL_DAYS = 0
    line.control.set_rate_limit("getMessageEvent", 1, 3600)
    sender.befriend(1)
    for _ in range(3):
        track_broadcast(sender, clocks)

    report = insight_sync(now=clocks.now)
    assert (report.stopped, report.resume_in, len(report.fetched)) == ("rate_limited", 300.0, 1)
    assert len(insight_requests(line, "getMessageEvent")) == 2
    clocks.advance(minutes=4)
    insight_sync(now=clocks.now)
    assert len(insight_requests(line, "getMessageEvent")) == 2

    clocks.advance(hours=1)
    line.control.set_rate_limit("getMessageEvent", 60, 3600)
    insight_sync(now=clocks.now)

    assert MessageEventSnapshot.objects.count() == 3
    assert TrackedRequest.objects.exclude(last_error="").count() == 0


def test_it_fetches_nothing_without_redis(line, clocks, sender, settings):
    from core.redis import reset_redis

    sender.befriend(1)
    track_broadcast(sender, clocks)
    settings.REDIS_URL = None
    reset_redis()

    report = insight_sync(now=clocks.now)

    assert (report.stopped, insight_requests(line)) == ("budget", [])


# -- running it ----------------------------------------------------------------------------------------------------
def test_it_returns_from_a_second_run_while_one_is_at_work(line, clocks, sender):
    sender.befriend(1)
    track_broadcast(sender, clocks)
    get_redis().incr("insight:sync:lock", ttl=60)

    report = insight_sync(now=clocks.now)

    assert (report.stopped, insight_requests(line)) == ("busy", [])


def test_it_fetches_once_when_run_twice(line, clocks, sender):
    sender.befriend(1)
    track_broadcast(sender, clocks)

    insight_sync(now=clocks.now)
    second = insight_sync(now=clocks.now)

    assert second.fetched == []
    assert len(insight_requests(line, "getMessageEvent")) == 1
    assert MessageEventSnapshot.objects.count() == 1


def test_it_runs_the_sync_from_the_beat_task(line, clocks):
    result = sync_line_insight.delay().get()

    assert result["fetched"] >= 1 and result["stopped"] is None
    assert settings.CELERY_BEAT_SCHEDULE["sync-line-insight"]["task"] == sync_line_insight.name
