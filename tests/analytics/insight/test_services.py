"""Registering the request ids and units the sync follows."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.insight_models import TrackedRequest, TrackedUnit, UnitSnapshot
from analytics.insight_services import insight_track_request, insight_track_unit
from core.errors import ConflictError, ValidationError

pytestmark = pytest.mark.django_db

SENT = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
REQUEST_ID = "f70dd685-499a-4231-a441-f24b8d4fba21"


def test_it_follows_a_request_until_14_days_after_sending():
    tracked = insight_track_request(REQUEST_ID, sent_at=SENT, kind="broadcast", campaign_id=7)

    assert (tracked.kind, tracked.campaign_id, tracked.follow_until) == ("broadcast", 7, SENT + timedelta(days=14))


def test_it_registers_a_request_once_however_often_it_is_called():
    insight_track_request(REQUEST_ID, sent_at=SENT, kind="narrowcast")
    again = insight_track_request(REQUEST_ID, sent_at=SENT + timedelta(minutes=1), kind="narrowcast", campaign_id=3)

    assert TrackedRequest.objects.count() == 1
    assert (again.sent_at, again.campaign_id) == (SENT, 3)


def test_it_refuses_a_request_claimed_by_another_campaign():
    insight_track_request(REQUEST_ID, sent_at=SENT, kind="broadcast", campaign_id=7)

    with pytest.raises(ConflictError):
        insight_track_request(REQUEST_ID, sent_at=SENT, kind="broadcast", campaign_id=8)
    with pytest.raises(ConflictError):
        insight_track_request(REQUEST_ID, sent_at=SENT, kind="narrowcast", campaign_id=7)
    assert TrackedRequest.objects.get().campaign_id == 7


@pytest.mark.parametrize(
    ("request_id", "kind", "sent_at", "campaign_id"),
    [
        ("", "broadcast", SENT, None),
        ("has spaces", "broadcast", SENT, None),
        ("x" * 65, "broadcast", SENT, None),
        (REQUEST_ID, "push", SENT, None),
        (REQUEST_ID, "broadcast", datetime(2025, 3, 1, 3, 0), None),
        (REQUEST_ID, "broadcast", "2025-03-01", None),
        (REQUEST_ID, "broadcast", SENT, "7"),
    ],
)
def test_it_refuses_a_malformed_request_and_stores_nothing(request_id, kind, sent_at, campaign_id):
    with pytest.raises(ValidationError):
        insight_track_request(request_id, sent_at=sent_at, kind=kind, campaign_id=campaign_id)

    assert TrackedRequest.objects.count() == 0


def test_it_widens_a_unit_to_its_first_and_last_send():
    insight_track_unit("spring_a", first_sent=SENT, campaign_id=9)
    insight_track_unit("spring_a", first_sent=SENT + timedelta(days=3))
    unit = insight_track_unit("spring_a", first_sent=SENT - timedelta(days=1))

    assert (unit.first_sent, unit.last_sent, unit.campaign_id) == (
        SENT - timedelta(days=1),
        SENT + timedelta(days=3),
        9,
    )


def test_it_follows_a_finished_unit_again_after_a_later_send():
    unit = insight_track_unit("spring_a", first_sent=SENT)
    TrackedUnit.objects.filter(pk=unit.pk).update(finished_at=SENT + timedelta(days=14))
    UnitSnapshot.objects.create(unit=unit, date_from=SENT.date(), date_to=SENT.date(), fetched_at=SENT, final=True)

    again = insight_track_unit("spring_a", first_sent=SENT + timedelta(days=15))

    assert again.finished_at is None
    assert UnitSnapshot.objects.get(unit=unit).final is False


def test_it_ends_a_units_period_30_days_after_its_first_day():
    unit = insight_track_unit("spring_a", first_sent=SENT)
    insight_track_unit("spring_a", first_sent=SENT + timedelta(days=45))
    unit.refresh_from_db()

    start, end = unit.period(SENT + timedelta(days=60))

    assert (end - start).days == 30
    # Sends after the period are not in LINE's figures: it is followed for 14 days after the period's end.
    assert unit.follow_until == datetime(2025, 3, 31, 15, 0, tzinfo=UTC) + timedelta(days=14)


@pytest.mark.parametrize("unit", ["", "spring-a", "x" * 31, "春"])
def test_it_refuses_a_unit_name_line_would_refuse(unit):
    with pytest.raises(ValidationError):
        insight_track_unit(unit, first_sent=SENT)

    assert TrackedUnit.objects.count() == 0


def test_it_refuses_a_unit_claimed_by_another_campaign():
    insight_track_unit("spring_a", first_sent=SENT, campaign_id=9)

    with pytest.raises(ConflictError):
        insight_track_unit("spring_a", first_sent=SENT, campaign_id=10)
