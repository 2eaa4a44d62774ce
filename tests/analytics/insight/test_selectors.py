"""What the analytics reports read: LINE's figures per campaign and per day."""

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.insight_models import (
    DeliverySnapshot,
    FollowerSnapshot,
    MessageEventSnapshot,
    UnitSnapshot,
)
from analytics.insight_selectors import line_daily_figures, line_figures_for_campaign
from analytics.insight_services import insight_track_request, insight_track_unit
from analytics.insight_sync import insight_sync

from .conftest import URL

pytestmark = pytest.mark.django_db

SENT = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
NOTHING = {"delivered": None, "unique_impressions": None, "unique_clicks": None, "synced_at": None, "final": False}


def snapshot_of(request_id, *, delivered=25, impressions=None, clicks=None, fetched_at=SENT, final=False):
    tracked = insight_track_request(request_id, sent_at=SENT, kind="broadcast", campaign_id=7)
    return MessageEventSnapshot.objects.create(
        request=tracked,
        date=SENT.date(),
        delivered=delivered,
        unique_impression=impressions,
        unique_click=clicks,
        fetched_at=fetched_at,
        final=final,
    )


def test_it_carries_a_broadcasts_figures_into_its_campaigns(line, clocks, sender):
    sender.befriend(25)
    request_id = sender.broadcast()
    insight_track_request(request_id, sent_at=clocks.now, kind="broadcast", campaign_id=42)
    line.control.interact("impression", request_id=request_id, users=24)
    line.control.interact("click", request_id=request_id, users=3, url=URL)

    assert line_figures_for_campaign(42) == NOTHING
    insight_sync(now=clocks.now)

    assert line_figures_for_campaign(42) == {
        "delivered": 25,
        "unique_impressions": 24,
        "unique_clicks": None,
        "synced_at": clocks.now,
        "final": False,
    }


def test_it_adds_up_the_sends_of_a_campaign():
    snapshot_of("req-1", impressions=30, clicks=20, fetched_at=SENT + timedelta(hours=2), final=True)
    snapshot_of("req-2", delivered=40, impressions=21, clicks=22, fetched_at=SENT + timedelta(hours=1), final=True)

    assert line_figures_for_campaign(7) == {
        "delivered": 65,
        "unique_impressions": 51,
        "unique_clicks": 42,
        "synced_at": SENT + timedelta(hours=1),
        "final": True,
    }


def test_it_hides_the_total_when_a_part_is_hidden():
    snapshot_of("req-1", impressions=30, clicks=20)
    snapshot_of("req-2", impressions=None, clicks=22)

    figures = line_figures_for_campaign(7)

    assert (figures["unique_impressions"], figures["unique_clicks"], figures["synced_at"]) == (None, 42, SENT)


def test_it_leaves_the_campaign_unsynced_while_a_part_is_not_synced_yet():
    snapshot_of("req-1", impressions=30, clicks=20)
    insight_track_request("req-2", sent_at=SENT, kind="broadcast", campaign_id=7)

    assert line_figures_for_campaign(7) == NOTHING


def test_it_gives_a_campaign_with_units_no_delivered_count_from_line():
    snapshot_of("req-1", impressions=30, clicks=20)
    unit = insight_track_unit("spring_a", first_sent=SENT, campaign_id=7)
    UnitSnapshot.objects.create(
        unit=unit, date_from=SENT.date(), date_to=SENT.date(), unique_impression=25, unique_click=21, fetched_at=SENT
    )

    figures = line_figures_for_campaign(7)

    assert (figures["delivered"], figures["unique_impressions"], figures["unique_clicks"]) == (None, 55, 41)


def test_it_has_no_figures_for_an_unknown_campaign():
    assert line_figures_for_campaign(404) == NOTHING


def test_it_lists_the_daily_counts_with_their_status():
    day = date(2025, 3, 1)
    FollowerSnapshot.objects.create(
        date=day, status="ready", followers=10, targeted_reaches=8, blocks=2, fetched_at=SENT
    )
    DeliverySnapshot.objects.create(date=day, status="ready", api_push=3, api_reply=4, fetched_at=SENT)
    FollowerSnapshot.objects.create(date=day + timedelta(days=1), status="unready", fetched_at=SENT)

    days = line_daily_figures(start=day, end=day + timedelta(days=5))

    assert [entry["date"] for entry in days] == [day, day + timedelta(days=1)]
    assert (days[0]["followers"], days[0]["blocks"], days[0]["api_messages"]) == (10, 2, 7)
    assert (days[1]["followers_status"], days[1]["followers"], days[1]["api_messages"]) == ("unready", None, None)
