"""Delivering campaigns through the LINE double with the real SDK: chunks, retry keys, faults, guards."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from analytics.models import Event
from core.config.services import setting_update
from richmessages.campaigns import delivery, services
from richmessages.campaigns.models import Campaign, CampaignChunk, CampaignRecipient, CampaignSend
from richmessages.campaigns.selectors import campaign_counts

from .conftest import delivered_to, make_rich_message, multicasts

pytestmark = pytest.mark.django_db


def test_it_sends_1200_followers_in_3_multicasts_each_with_its_own_retry_key(line, followers, approved, run_beat):
    users = followers(1200)
    campaign = approved()

    run_beat()

    calls = multicasts(line)
    assert [len(call["to"]) for call in calls] == [500, 500, 200]
    keys = [call["retryKey"] for call in calls]
    assert len(set(keys)) == 3 and all(uuid.UUID(key) for key in keys)
    assert sorted(user for call in calls for user in call["to"]) == sorted(u.line_user_id for u in users)
    assert all(len(delivered_to(line, user.line_user_id)) == 1 for user in users[:50])
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert campaign_counts(campaign) == {"recipients": 1200, "sent": 1200, "failed": 0, "skipped": 0, "held": 0}


def test_it_stores_the_retry_key_and_the_line_request_id_of_each_chunk(line, followers, approved, run_beat):
    followers(600)
    approved(cooldown=True, frequency_cap_day=5)

    run_beat()

    chunks = list(CampaignChunk.objects.order_by("pk"))
    by_key = {call["retryKey"]: call["requestId"] for call in multicasts(line)}
    assert [chunk.status for chunk in chunks] == ["sent", "sent"]
    assert {str(chunk.retry_key): chunk.line_request_id for chunk in chunks} == by_key


def test_it_records_one_delivered_event_per_recipient(line, followers, approved, run_beat):
    users = followers(30)
    campaign = approved(frequency_cap_day=3)

    run_beat()

    events = Event.objects.filter(type=Event.Type.DELIVERED, campaign_id=campaign.pk)
    assert sorted(events.values_list("line_user_id", flat=True)) == sorted(user.pk for user in users)
    assert {event.props["line_request_id"] for event in events} == {multicasts(line)[0]["requestId"]}


def test_it_sends_a_chunk_once_when_its_task_runs_twice(line, followers, approved, run_beat):
    followers(10)
    approved(frequency_cap_day=3)
    run_beat()
    chunk = CampaignChunk.objects.get()

    again = delivery.chunk_deliver(chunk.pk)

    assert again == "already"
    assert len(multicasts(line, status=None)) == 1


def test_it_counts_a_409_for_an_accepted_retry_key_as_sent(line, followers, approved, run_beat):
    followers(10)
    approved(frequency_cap_day=3)
    run_beat()
    chunk = CampaignChunk.objects.get()
    # As if the worker died after LINE accepted the call and before the chunk was marked sent.
    CampaignChunk.objects.filter(pk=chunk.pk).update(status="sending", line_request_id="")
    CampaignRecipient.objects.filter(chunk=chunk).update(status="pending", sent_at=None)
    CampaignSend.objects.update(status="sending", sent=0, finished_at=None)
    Campaign.objects.update(status="sending")

    outcome = delivery.chunk_deliver(chunk.pk)

    chunk.refresh_from_db()
    assert outcome == "sent" and chunk.duplicate is True
    assert chunk.line_request_id == multicasts(line)[0]["requestId"]
    assert [call["status"] for call in multicasts(line, status=None)] == [200, 409]
    assert len(delivered_to(line, chunk_user(chunk))) == 1


def cooldown(administrator, minutes):
    setting_update(key="richmessages.cooldown_minutes", value=minutes, actor=administrator, reason="test")


def chunk_user(chunk):
    return CampaignRecipient.objects.filter(chunk=chunk).select_related("line_user").first().line_user.line_user_id


def test_it_retries_line_5xx_with_the_same_retry_key_and_sends_once(line, followers, approved, run_beat):
    users = followers(1200)
    approved(frequency_cap_day=3)
    line.control.set_faults(seed=3, errors=[{"endpoint": "multicast", "status": 500, "rate": 0.5}])

    run_beat()

    line.control.clear_faults()
    calls = multicasts(line, status=None)
    failed = [call for call in calls if call["status"] == 500]
    accepted = [call for call in calls if call["status"] == 200]
    assert failed, "the fault injection should have failed some calls"
    assert len(accepted) == 3
    assert {call["retryKey"] for call in failed} <= {call["retryKey"] for call in accepted}
    assert all(len(delivered_to(line, user.line_user_id)) == 1 for user in users[::40])


def test_it_fails_the_campaign_on_the_monthly_limit_without_retrying(line, followers, approved, run_beat):
    followers(700)
    campaign = approved(frequency_cap_day=3)
    # The quota check passes (it is checked before sending); LINE then refuses the second chunk.
    line.control.configure(monthlyQuota=0)
    run_beat_with_quota_after_first_chunk(line, run_beat)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert "monthly message limit" in campaign.failure_reason
    refused = multicasts(line, status=429)
    assert len(refused) == 1
    assert campaign_counts(campaign)["sent"] == 500


def run_beat_with_quota_after_first_chunk(line, run_beat):
    original = delivery.chunk_mark_sent

    def after_first(chunk, result):
        marked = original(chunk, result)
        line.control.configure(monthlyQuota=500)
        return marked

    delivery.chunk_mark_sent = after_first
    try:
        run_beat()
    finally:
        delivery.chunk_mark_sent = original


def test_it_refuses_a_campaign_larger_than_the_remaining_quota_before_any_message_leaves(
    line, followers, approved, run_beat
):
    followers(120)
    line.control.configure(monthlyQuota=100)
    campaign = approved()

    run_beat()

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert "quota has 100 messages left" in campaign.failure_reason and "needs 120" in campaign.failure_reason
    assert multicasts(line, status=None) == [] and line.control.requests(endpoint="broadcast") == []


def test_it_broadcasts_when_nothing_treats_followers_differently(administrator, line, followers, approved, run_beat):
    users = followers(20)
    cooldown(administrator, 0)
    campaign = approved()

    run_beat()

    assert len(line.control.requests(endpoint="broadcast", status=200)) == 1
    assert multicasts(line, status=None) == []
    assert campaign_counts(campaign)["sent"] == 20
    assert len(delivered_to(line, users[0].line_user_id)) == 1
    assert CampaignSend.objects.get().method == CampaignSend.Method.BROADCAST


def test_it_multicasts_instead_of_broadcasting_when_someone_opted_out(
    administrator, line, followers, approved, run_beat
):
    users = followers(20)
    cooldown(administrator, 0)
    type(users[0]).objects.filter(pk=users[0].pk).update(opted_out_at=timezone.now())
    campaign = approved()

    run_beat()

    assert line.control.requests(endpoint="broadcast") == []
    assert delivered_to(line, users[0].line_user_id) == []
    recipient = CampaignRecipient.objects.get(line_user=users[0])
    assert (recipient.status, recipient.reason) == ("skipped", "opted_out")
    assert campaign_counts(campaign) == {"recipients": 20, "sent": 19, "failed": 0, "skipped": 1, "held": 0}


def test_it_skips_unfollowed_users_of_an_uploaded_list_with_a_reason(line, followers, approved, run_beat):
    active, gone = followers(3), followers(2, status="inactive")
    campaign = approved(audience={"type": "users", "line_user_ids": [u.line_user_id for u in active + gone]})

    run_beat()

    assert campaign.audience_report["unfollowed_count"] == 2
    reasons = dict(CampaignRecipient.objects.values_list("line_user_id", "reason"))
    assert [reasons[u.pk] for u in gone] == ["unfollowed", "unfollowed"]
    assert all(delivered_to(line, u.line_user_id) == [] for u in gone)


def test_it_applies_the_daily_frequency_cap_across_campaigns(administrator, line, followers, approved, run_beat):
    users = followers(5)
    cooldown(administrator, 0)
    approved(name="first", frequency_cap_day=1)
    run_beat()
    second = approved(name="second", frequency_cap_day=1)

    run_beat()

    reasons = set(CampaignRecipient.objects.filter(send__campaign=second).values_list("reason", flat=True))
    assert reasons == {"frequency_cap_day"}
    assert len(delivered_to(line, users[0].line_user_id)) == 1


def test_it_skips_users_within_the_cooldown_of_the_last_campaign_message(
    administrator, line, followers, approved, run_beat
):
    followers(5)
    cooldown(administrator, 90)
    approved(name="first", frequency_cap_week=10)
    run_beat()
    second = approved(name="second")

    run_beat()

    reasons = set(CampaignRecipient.objects.filter(send__campaign=second).values_list("reason", flat=True))
    assert reasons == {"cooldown"}
    assert Campaign.objects.get(pk=second.pk).status == Campaign.Status.SENT


# Two hours around now in Tokyo: between 23:00 and 01:00 the window crosses midnight, which quiet hours allow
# (window_end's own test covers it); New York is 13 or 14 hours away, outside the window at any time of day.
def test_it_holds_users_in_quiet_hours_and_releases_them_when_the_window_ends(line, followers, approved, run_beat):
    now = timezone.now()
    tokyo = followers(3, timezone="Asia/Tokyo")
    local = now.astimezone(timezone.get_fixed_timezone(9 * 60))
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    elsewhere = followers(2, timezone="America/New_York")
    campaign = approved(quiet_hours_start=start, quiet_hours_end=end, timezone="Asia/Tokyo")

    run_beat()

    held = CampaignRecipient.objects.filter(status="held")
    assert sorted(held.values_list("line_user_id", flat=True)) == sorted(u.pk for u in tokyo)
    assert {r.reason for r in held} == {"quiet_hours"}
    assert all(delivered_to(line, u.line_user_id) == [] for u in tokyo)
    assert all(len(delivered_to(line, u.line_user_id)) == 1 for u in elsewhere)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING

    CampaignRecipient.objects.filter(status="held").update(release_at=now - timedelta(seconds=1))
    services_quiet_hours_over(campaign, local)
    run_beat()

    assert all(len(delivered_to(line, u.line_user_id)) == 1 for u in tokyo)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert campaign_counts(campaign)["held"] == 0 and campaign_counts(campaign)["sent"] == 5


def services_quiet_hours_over(campaign, local):
    # The window has ended by the time the held recipients are released (the window moves, not the clock).
    later = (local + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    Campaign.objects.filter(pk=campaign.pk).update(
        quiet_hours_start=later,
        quiet_hours_end=(local + timedelta(hours=3, minutes=1)).time().replace(second=0, microsecond=0),
    )


def test_it_stops_sending_within_one_chunk_on_pause_and_finishes_on_resume(
    line, followers, approved, run_beat, operator, django_capture_on_commit_callbacks
):
    followers(1200)
    campaign = approved(frequency_cap_day=3)
    original = delivery.chunk_mark_sent

    def pause_after_first(chunk, result):
        marked = original(chunk, result)
        if CampaignChunk.objects.filter(status="sent").count() == 1:
            services.campaign_pause(campaign=campaign, actor=operator)
        return marked

    delivery.chunk_mark_sent = pause_after_first
    try:
        run_beat()
    finally:
        delivery.chunk_mark_sent = original

    assert len(multicasts(line)) == 1
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=campaign, actor=operator)

    assert [len(call["to"]) for call in multicasts(line)] == [500, 500, 200]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT


def test_it_stops_sending_within_one_chunk_on_cancel(line, followers, approved, run_beat, operator):
    followers(1200)
    campaign = approved(frequency_cap_day=3)
    original = delivery.chunk_mark_sent

    def cancel_after_first(chunk, result):
        marked = original(chunk, result)
        if CampaignChunk.objects.filter(status="sent").count() == 1:
            services.campaign_cancel(campaign=campaign, actor=operator)
        return marked

    delivery.chunk_mark_sent = cancel_after_first
    try:
        run_beat()
    finally:
        delivery.chunk_mark_sent = original

    assert len(multicasts(line)) == 1
    assert campaign_counts(campaign) == {"recipients": 1200, "sent": 500, "failed": 0, "skipped": 700, "held": 0}
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.CANCELLED


def test_it_never_sends_a_chunk_of_a_campaign_that_is_not_approved(line, followers, approved, run_beat):
    followers(10)
    campaign = approved(frequency_cap_day=3)
    original = delivery.chunk_deliver

    def unapprove_first(chunk_id):
        # As if someone changed the row behind the services' back: the send path checks for itself.
        Campaign.objects.filter(pk=campaign.pk).update(approved_by=None, approved_at=None)
        return original(chunk_id)

    delivery.chunk_deliver = unapprove_first
    try:
        run_beat()
    finally:
        delivery.chunk_deliver = original

    assert multicasts(line, status=None) == []
    assert CampaignChunk.objects.get().status == "pending"


def test_it_splits_recipients_between_variants_by_weight(line, followers, approved, run_beat):
    users = followers(400)
    second = make_rich_message("Evening walk")
    first = make_rich_message("Morning run")
    campaign = approved(
        variants=[{"name": "A", "rich_message": first, "weight": 3}, {"name": "B", "rich_message": second, "weight": 1}]
    )

    run_beat()

    by_variant = dict(
        CampaignRecipient.objects.filter(send__campaign=campaign).values_list("variant").annotate(n=Count("id"))
    )
    assert by_variant["A"] + by_variant["B"] == 400 and 250 < by_variant["A"] < 350
    texts = {call["body"]["messages"][0]["altText"] for call in multicasts(line)}
    assert texts == {"Morning run", "Evening walk"}
    assert all(len(delivered_to(line, user.line_user_id)) == 1 for user in users[:20])


def test_it_keeps_a_deterministic_holdout_out_of_the_send(line, followers, approved, run_beat):
    followers(400)
    campaign = approved(holdout_percent=20)

    run_beat()

    held_out = CampaignRecipient.objects.filter(reason="holdout")
    assert 40 < held_out.count() < 120
    assert all(delivered_to(line, r.line_user.line_user_id) == [] for r in held_out[:10])
    from richmessages.campaigns.guards import in_holdout

    assert all(in_holdout(campaign.pk, r.line_user_id, 20) for r in held_out)
