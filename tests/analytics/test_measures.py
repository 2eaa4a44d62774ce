"""Campaign and template measures from known events, through the rollups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import measures, subjects
from analytics.insight_models import MessageEventSnapshot, TrackedRequest
from analytics.models import Event
from analytics.services import event_record

from .conftest import SENT, T, deliver, hold_out, make_rich_message, make_users, roll, tap

pytestmark = pytest.mark.django_db


def report(campaign):
    return measures.campaign_report(campaign.pk, subjects.campaign(campaign.pk))


def test_it_divides_unique_tappers_by_deliveries(campaign):
    users = make_users(40)
    deliver(campaign, users)
    for user in users[:10]:
        tap(user, campaign.rich_message, "like", at=SENT + timedelta(hours=1))
    tap(users[0], campaign.rich_message, "more", at=SENT + timedelta(hours=2))
    tap(users[0], campaign.rich_message, "like", at=SENT + timedelta(days=2))
    roll()

    body = report(campaign)

    assert body["delivered"]["ours"] == 40
    assert body["unique_tappers"] == 10
    assert body["engagement_rate"]["value"] == 0.25
    assert (body["engagement_rate"]["numerator"], body["engagement_rate"]["denominator"]) == (
        "unique_tappers",
        "delivered (ours)",
    )


def test_it_gives_each_buttons_share_of_the_taps(campaign):
    users = make_users(4)
    deliver(campaign, users)
    for user in users[:3]:
        tap(user, campaign.rich_message, "like", at=SENT + timedelta(hours=1))
    tap(users[3], campaign.rich_message, "save", at=SENT + timedelta(hours=1))
    roll()

    by_button = {row["button"]: row for row in report(campaign)["by_button"]}

    assert by_button["like"]["taps"] == 3 and by_button["like"]["tap_share"]["value"] == 0.75
    assert by_button["save"]["tap_share"]["value"] == 0.25
    assert by_button["save"]["tap_share"]["denominator"] == "postback taps"


def test_it_attributes_a_tap_to_the_campaign_that_delivered_the_message(campaign):
    user = make_users(1)[0]
    deliver(campaign, [user], variant="B")

    event = tap(user, campaign.rich_message, "like", at=SENT + timedelta(minutes=5))

    assert (event.campaign_id, event.variant) == (campaign.pk, "B")


def test_it_counts_link_clickers_over_deliveries(campaign):
    users = make_users(8)
    deliver(campaign, users)
    for user in users[:2]:
        for _ in range(3):
            event_record(type=T.LINK_CLICK, line_user=user, campaign_id=campaign.pk, occurred_at=SENT)
    roll()

    body = report(campaign)

    assert body["link_clicks"] == 6 and body["unique_link_clickers"] == 2
    assert body["link_ctr"]["value"] == 0.25


def test_it_counts_blocks_within_24_hours_of_a_delivery(campaign):
    users = make_users(10)
    deliver(campaign, users)
    event_record(type=T.UNFOLLOW, line_user=users[0], occurred_at=SENT + timedelta(hours=3))
    event_record(type=T.UNFOLLOW, line_user=users[1], occurred_at=SENT + timedelta(hours=30))
    roll()

    block = report(campaign)["block_rate_24h"]

    assert (block["numerator_value"], block["denominator_value"], block["value"]) == (1, 10, 0.1)


def test_it_measures_the_lift_of_each_variant_over_the_holdout(campaign):
    arm_a, arm_b, held = make_users(10), make_users(10), make_users(10)
    deliver(campaign, arm_a, variant="A")
    deliver(campaign, arm_b, variant="B")
    hold_out(campaign, held)
    for user in arm_a[:4]:
        event_record(type=T.MESSAGE, line_user=user, occurred_at=SENT + timedelta(hours=2))
    for user in arm_b[:2]:
        event_record(type=T.MESSAGE, line_user=user, occurred_at=SENT + timedelta(hours=2))
    for user in held[:2]:
        event_record(type=T.MESSAGE, line_user=user, occurred_at=SENT + timedelta(hours=2))
    # Too late to count.
    event_record(type=T.MESSAGE, line_user=held[5], occurred_at=SENT + timedelta(hours=25))
    roll()

    variants = {row["variant"]: row for row in report(campaign)["variants"]}

    assert variants["A"]["engaged_rate_24h"]["value"] == 0.4
    assert variants["A"]["lift_over_holdout"]["value"] == 1.0
    assert variants["B"]["lift_over_holdout"]["value"] == 0.0


def test_it_gives_no_rate_for_a_campaign_with_no_deliveries(campaign):
    roll()

    body = report(campaign)

    assert body["delivered"]["ours"] == 0
    assert body["engagement_rate"]["value"] is None and body["engagement_rate"]["hidden"] is False
    assert body["link_ctr"]["value"] is None and body["block_rate_24h"]["value"] is None


def _line_snapshot(campaign, *, delivered, impressions):
    request = TrackedRequest.objects.create(
        campaign_id=campaign.pk, request_id="req-" + str(campaign.pk), kind="broadcast", sent_at=SENT
    )
    MessageEventSnapshot.objects.create(
        request=request,
        date=SENT.date(),
        delivered=delivered,
        unique_impression=impressions,
        unique_click=None,
        fetched_at=timezone.now(),
    )


def test_it_divides_lines_unique_impressions_by_lines_deliveries(campaign):
    _line_snapshot(campaign, delivered=200, impressions=50)

    body = report(campaign)

    assert body["delivered"]["line"] == {"value": 200, "hidden": False}
    assert body["open_rate"]["value"] == 0.25
    assert body["open_rate"]["denominator"] == "delivered (LINE)"


def test_it_shows_a_count_line_withholds_under_20_as_hidden(campaign):
    _line_snapshot(campaign, delivered=200, impressions=None)

    body = report(campaign)

    assert body["unique_impressions"] == {"value": None, "hidden": True}
    assert body["open_rate"]["value"] is None and body["open_rate"]["hidden"] is True
    assert body["line_unique_clicks"]["hidden"] is True


def test_it_leaves_lines_figures_unknown_before_a_sync(campaign):
    body = report(campaign)

    assert body["delivered"]["line"] == {"value": None, "hidden": False}
    assert body["delivered"]["line_synced_at"] is None
    assert body["open_rate"]["value"] is None and body["open_rate"]["hidden"] is False


def test_it_adds_up_a_templates_messages_across_campaigns(campaign):
    second = make_rich_message(template=campaign.rich_message.template_version.template)
    users = make_users(5)
    deliver(campaign, users)
    deliver(campaign, users[:5], message=second, at=SENT + timedelta(days=1))
    tap(users[0], second, "like", at=SENT + timedelta(days=1, hours=1))
    roll()

    body = measures.template_report(subjects.template(campaign.rich_message.template_version.template_id))

    assert body["delivered"]["ours"] == 10
    assert body["unique_tappers"] == 1 and body["engagement_rate"]["value"] == 0.1
    assert body["campaigns"] == 1


def test_it_ignores_events_of_other_types_in_the_deliveries(campaign):
    users = make_users(3)
    deliver(campaign, users)
    event_record(type=Event.Type.FOLLOW, line_user=users[0], campaign_id=campaign.pk, occurred_at=SENT)
    roll()

    assert report(campaign)["delivered"]["ours"] == 3
