"""Events written where things happen: the webhook worker (messages, follows, blocks) and campaign holdouts."""

from __future__ import annotations

import pytest

from analytics import receivers
from analytics.models import Event
from conversations.models import WebhookEvent
from conversations.signals import line_event_handled
from tests.conversations.events import USER

pytestmark = pytest.mark.django_db


def test_it_records_a_message_from_the_webhook_worker(post_events, events, llm):

    assert post_events(events.text("Hello")).status_code == 200

    event = Event.objects.get(type=Event.Type.MESSAGE)
    assert event.line_user.line_user_id == USER
    assert event.props == {"source_type": "user", "message_type": "text"}
    assert event.occurred_at == WebhookEvent.objects.get().occurred_at


def test_it_records_a_follow_and_a_block(post_events, events):
    post_events(events.of("follow"))
    post_events(events.of("unfollow", timestamp=1_700_000_100_000))

    assert sorted(Event.objects.values_list("type", flat=True)) == ["follow", "unfollow"]


def test_it_records_an_event_once_when_the_worker_handles_it_again(post_events, events):
    post_events(events.of("unfollow"))
    stored = WebhookEvent.objects.get()
    user = Event.objects.get().line_user

    line_event_handled.send(
        sender=WebhookEvent, event_type="unfollow", user=user, occurred_at=stored.occurred_at, props={}
    )

    assert Event.objects.filter(type=Event.Type.UNFOLLOW).count() == 1


def test_it_answers_the_user_even_when_recording_fails(post_events, events, llm, monkeypatch):

    def broken(*args, **kwargs):
        raise RuntimeError("analytics is down")

    line_event_handled.disconnect(dispatch_uid="analytics-record-line-event")
    line_event_handled.connect(broken, dispatch_uid="analytics-broken")
    try:
        post_events(events.text("Hello"))
    finally:
        line_event_handled.disconnect(dispatch_uid="analytics-broken")
        line_event_handled.connect(receivers.record_line_event, dispatch_uid="analytics-record-line-event")

    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED
    assert not Event.objects.exists()


def test_it_records_who_a_campaign_held_out(campaign):
    from django.utils import timezone

    from richmessages.campaigns import guards, preparation
    from richmessages.campaigns.models import CampaignSend

    from ..conftest import make_users

    users = make_users(200, status="active")
    campaign.audience = {"type": "all_followers"}
    campaign.save()
    send = CampaignSend.objects.create(campaign=campaign, due_at=timezone.now(), status=CampaignSend.Status.PREPARING)

    preparation.prepare_batch(send.pk)

    expected = {user.pk for user in users if guards.in_holdout(campaign.pk, user.pk, campaign.holdout_percent)}
    held = Event.objects.filter(type=Event.Type.HOLDOUT, campaign_id=campaign.pk)
    assert expected and set(held.values_list("line_user_id", flat=True)) == expected
