"""A send prepared in parts of its audience, released before its preparation ends when the quota allows, and
decided by PostgreSQL in one statement when no guard needs a hash or a time zone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from django.utils import timezone

from conversations.models import LineUser
from core.config.services import setting_update
from richmessages.campaigns import delivery, dispatch, guards, preparation, services, tasks
from richmessages.campaigns.models import Campaign, CampaignChunk, CampaignRecipient, CampaignSend, CampaignSendPart
from richmessages.campaigns.selectors import campaign_counts

from .conftest import make_rich_message, multicasts

pytestmark = pytest.mark.django_db


def received(line) -> Counter:
    return Counter(user for call in multicasts(line) for user in call["to"])


def claimed_send(approved, **values) -> tuple[Campaign, int]:
    campaign = approved(**values)
    (send_id,) = dispatch.sends_claim_due()
    return campaign, send_id


def test_it_splits_a_send_into_parts_of_the_audience_and_reaches_each_follower_once(
    line, followers, approved, run_beat, settings
):
    settings.CAMPAIGN_PART_SIZE = 300
    users = followers(1100)
    campaign = approved(frequency_cap_day=3)

    run_beat()

    parts = list(CampaignSendPart.objects.order_by("after_pk"))
    assert len(parts) == 4 and all(part.done for part in parts)
    assert parts[-1].last_pk is None
    assert [part.after_pk for part in parts[1:]] == [part.last_pk for part in parts[:-1]]
    assert received(line) == Counter({user.line_user_id: 1 for user in users})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert campaign_counts(campaign) == {"recipients": 1100, "sent": 1100, "failed": 0, "skipped": 0, "held": 0}


def test_it_sends_the_chunks_of_a_written_part_while_other_parts_are_still_preparing(
    line, followers, approved, settings
):
    settings.CAMPAIGN_PART_SIZE = 600
    followers(1100)
    campaign, send_id = claimed_send(approved, frequency_cap_day=3)

    assert preparation.send_prepare(send_id) == "parts"
    first, second = preparation.part_ids_to_run(send_id)
    queued: list[int] = []
    assert preparation.send_part_prepare(first, on_chunks=queued.extend) == "done"
    outcomes = [delivery.chunk_deliver(chunk_id) for chunk_id in queued]

    assert outcomes == ["sent", "sent"]
    assert [len(call["to"]) for call in multicasts(line)] == [500, 100]
    send = CampaignSend.objects.get(pk=send_id)
    assert (send.status, send.released, send.prepared) == ("sending", True, False)

    rest: list[int] = []
    assert preparation.send_part_prepare(second, on_chunks=rest.extend) == "complete"
    assert [delivery.chunk_deliver(chunk_id) for chunk_id in rest] == ["sent"]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert len(received(line)) == 1100


def test_it_waits_for_the_whole_preparation_when_only_the_exact_count_fits_the_quota(
    line, followers, approved, run_beat
):
    users = followers(120)
    LineUser.objects.filter(pk__in=[user.pk for user in users[:20]]).update(opted_out_at=timezone.now())
    line.control.configure(monthlyQuota=100)
    campaign = approved(frequency_cap_day=3)

    run_beat()

    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert campaign_counts(campaign) == {"recipients": 120, "sent": 100, "failed": 0, "skipped": 20, "held": 0}
    assert set(received(line)) == {user.line_user_id for user in users[20:]}


def test_it_resumes_a_part_at_its_cursor_without_writing_a_batch_twice(line, followers, approved, monkeypatch):
    monkeypatch.setattr(preparation, "BATCH_SIZE", 100)
    followers(450)
    _, send_id = claimed_send(approved, frequency_cap_day=3)
    preparation.send_prepare(send_id)
    (part_id,) = preparation.part_ids_to_run(send_id)

    assert preparation.send_part_prepare(part_id, time_budget=0) == "more"
    assert CampaignSendPart.objects.get(pk=part_id).cursor > 0
    assert preparation.send_part_prepare(part_id) == "complete"
    assert preparation.send_part_prepare(part_id) == "stopped"

    rows = CampaignRecipient.objects.filter(send_id=send_id)
    assert rows.count() == 450 == rows.values("line_user_id").distinct().count()
    assert CampaignSend.objects.get(pk=send_id).recipients == 450


def test_it_continues_a_send_paused_while_preparing_when_resumed(
    line, followers, approved, operator, django_capture_on_commit_callbacks
):
    users = followers(30)
    campaign, send_id = claimed_send(approved, frequency_cap_day=3)
    services.campaign_pause(campaign=campaign, actor=operator)

    assert preparation.send_prepare(send_id) == "paused"
    assert CampaignSend.objects.get(pk=send_id).status == CampaignSend.Status.PREPARING

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=campaign, actor=operator)

    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert received(line) == Counter({user.line_user_id: 1 for user in users})


def test_it_decides_in_sql_exactly_as_the_guards_do_in_python(administrator, line, followers, approved, run_beat):
    setting_update(key="richmessages.cooldown_minutes", value=60, actor=administrator, reason="test")
    now = timezone.now()
    fresh, inactive, opted_out, day_capped, week_capped, cooling, earlier = (followers(1)[0] for _ in range(7))
    LineUser.objects.filter(pk=inactive.pk).update(status=LineUser.Status.INACTIVE)
    LineUser.objects.filter(pk=opted_out.pk).update(opted_out_at=now)
    past = approved(name="past", frequency_cap_day=50, audience={"type": "users", "line_user_ids": ["U" + "0" * 32]})
    CampaignSend.objects.filter(campaign=past).update(status=CampaignSend.Status.DONE)
    sent = {
        day_capped: [timedelta(hours=2), timedelta(hours=3)],
        week_capped: [timedelta(days=2), timedelta(days=3), timedelta(days=4)],
        cooling: [timedelta(minutes=30)],
        earlier: [timedelta(hours=2)],
    }
    for user, agos in sent.items():
        for ago in agos:
            # One earlier send per message (a user is in a send once).
            history = CampaignSend.objects.create(
                campaign=past, kind=CampaignSend.Kind.STEP, due_at=now - ago, status=CampaignSend.Status.DONE
            )
            CampaignRecipient.objects.create(send=history, line_user=user, status="sent", sent_at=now - ago)
    everyone = [fresh, inactive, opted_out, day_capped, week_capped, cooling, earlier]
    campaign = approved(
        name="now",
        frequency_cap_day=2,
        frequency_cap_week=3,
        audience={"type": "users", "line_user_ids": [user.line_user_id for user in everyone]},
    )
    send = CampaignSend.objects.get(campaign=campaign)
    rules = guards.Rules.of(campaign, send)
    rows = LineUser.objects.filter(pk__in=[u.pk for u in everyone]).order_by("pk").values_list(*guards.USER_FIELDS)
    in_python = {d.line_user_pk: (d.status, d.reason) for d in guards.evaluate(list(rows), rules, now=now)}

    run_beat()

    in_sql = dict(
        (
            (user, (status, reason))
            for user, status, reason in CampaignRecipient.objects.filter(send=send).values_list(
                "line_user_id", "status", "reason"
            )
        )
    )
    assert in_sql == {
        fresh.pk: ("sent", ""),
        inactive.pk: ("skipped", "unfollowed"),
        opted_out.pk: ("skipped", "opted_out"),
        day_capped.pk: ("skipped", "frequency_cap_day"),
        week_capped.pk: ("skipped", "frequency_cap_week"),
        cooling.pk: ("skipped", "cooldown"),
        earlier.pk: ("sent", ""),
    }
    assert {pk: reason for pk, (_, reason) in in_sql.items()} == {pk: r for pk, (_, r) in in_python.items()}


def test_it_requeues_a_part_whose_task_was_lost(followers, approved, settings):
    settings.CAMPAIGN_PART_SIZE = 10
    followers(25)
    _, send_id = claimed_send(approved, frequency_cap_day=3)
    preparation.send_prepare(send_id)
    parts = preparation.part_ids_to_run(send_id)
    CampaignSendPart.objects.filter(pk=parts[0]).update(updated_at=timezone.now() - timedelta(minutes=5))

    found = dispatch.stalled_work()

    assert found.parts == [parts[0]]
    assert dispatch.stalled_work().parts == []


def test_it_marks_a_send_done_that_a_dead_worker_left_unfinished(
    line, followers, approved, run_beat, django_capture_on_commit_callbacks
):
    followers(10)
    campaign = approved(frequency_cap_day=3, rich_message=make_rich_message("Late"))
    run_beat()
    # As if the worker died between the last chunk's commit and its check that the send was done.
    CampaignSend.objects.update(status=CampaignSend.Status.SENDING, finished_at=None)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    CampaignSend.objects.update(updated_at=timezone.now() - timedelta(minutes=5))

    found = dispatch.stalled_work()

    assert found.finish == [CampaignSend.objects.get().pk]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.queue_work(found)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT


def test_it_retries_a_chunk_after_a_database_error_and_the_retry_sends_it_once(line, followers, approved, run_beat):
    users = followers(10)
    campaign = approved(frequency_cap_day=3)
    original = delivery.chunk_mark_sent

    def deadlocked(chunk, result):
        raise OperationalError("deadlock detected")

    delivery.chunk_mark_sent = deadlocked
    try:
        with pytest.raises(Retry):
            run_beat()
    finally:
        delivery.chunk_mark_sent = original
    chunk = CampaignChunk.objects.get()
    assert chunk.status == "sending"

    assert tasks.chunk_deliver_task.apply(args=[chunk.pk]).get() == "sent"
    assert [call["status"] for call in multicasts(line, status=None)] == [200, 409]
    assert received(line) == Counter({user.line_user_id: 1 for user in users})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT


def test_it_requeues_a_send_released_early_whose_coordinator_died_before_making_its_parts(followers, approved):
    followers(5)
    _, send_id = claimed_send(approved, frequency_cap_day=3)
    # As if the coordinator released the send and died before it made the parts.
    CampaignSend.objects.filter(pk=send_id).update(
        status=CampaignSend.Status.SENDING, released=True, updated_at=timezone.now() - timedelta(minutes=5)
    )

    assert dispatch.stalled_work().prepare == [send_id]
    assert preparation.send_prepare(send_id) == "parts"
    assert len(preparation.part_ids_to_run(send_id)) == 1
