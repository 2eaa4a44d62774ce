"""Schedules, the per-minute claim (exactly once under concurrency), recurrences and step messages."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent
from conversations.line_users import line_user_follow
from core.errors import ValidationError
from richmessages.campaigns import dispatch, schedules, services
from richmessages.campaigns.models import Campaign, CampaignSend, StepEnrolment

from .conftest import delivered_to, make_followers, multicasts

BANGKOK = ZoneInfo("Asia/Bangkok")


def test_it_reads_a_weekly_rrule_in_the_campaign_time_zone():
    rule = schedules.parse_recurrence("RRULE:FREQ=WEEKLY;BYDAY=MO", start_wall=datetime(2030, 1, 7, 9, 0))

    following = rule.after(datetime(2030, 1, 7, 9, 0))

    assert following == datetime(2030, 1, 14, 9, 0)
    assert schedules.at_wall(following, BANGKOK).hour == 2  # 09:00 in Bangkok is 02:00 UTC


def test_it_keeps_a_recurrences_local_hour_across_daylight_saving():
    tz = ZoneInfo("Europe/Berlin")
    rule = schedules.parse_recurrence("FREQ=DAILY", start_wall=datetime(2030, 3, 30, 9, 0))

    before, after = rule.after(datetime(2030, 3, 30, 9, 0), inc=True), rule.after(datetime(2030, 3, 30, 9, 0))

    assert (schedules.at_wall(before, tz).hour, schedules.at_wall(after, tz).hour) == (8, 7)


@pytest.mark.parametrize(
    "rule",
    ["", "FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=DAILY;BOGUS=1", "DTSTART:20300101T000000\nRRULE:FREQ=DAILY", "x" * 600],
)
def test_it_refuses_a_bad_or_too_frequent_recurrence(rule):
    with pytest.raises(ValidationError) as error:
        schedules.parse_recurrence(rule, start_wall=datetime(2030, 1, 1))

    assert "recurrence" in error.value.details


def test_it_starts_a_local_time_send_where_the_time_comes_first():
    due = schedules.due_at(datetime(2030, 1, 1, 9, 0), tz=BANGKOK, local_time=True)

    assert due == datetime(2029, 12, 31, 19, 0, tzinfo=ZoneInfo("UTC"))
    assert schedules.occurrence_wall(due, tz=BANGKOK, local_time=True) == datetime(2030, 1, 1, 9, 0)


def test_it_lets_a_quiet_window_pass_midnight():
    tz = ZoneInfo("UTC")
    late = datetime(2030, 1, 1, 23, 30, tzinfo=tz)

    ends = schedules.window_end(late, tz, datetime(2030, 1, 1, 22).time(), datetime(2030, 1, 1, 7).time())

    assert ends == datetime(2030, 1, 2, 7, 0, tzinfo=tz)
    assert (
        schedules.window_end(late.replace(hour=12), tz, late.replace(hour=22).time(), late.replace(hour=7).time())
        is None
    )


@pytest.mark.django_db
def test_it_claims_each_send_once_when_claiming_twice_at_the_due_minute(approved):
    campaign = approved()

    first, second = dispatch.sends_claim_due(), dispatch.sends_claim_due()

    assert len(first) == 1 and second == []
    assert CampaignSend.objects.get().status == "preparing"
    assert Campaign.objects.get(pk=campaign.pk).status == "sending"
    assert AuditEvent.objects.filter(action="campaign_send_started").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_claims_each_send_once_for_two_claimers_at_once(editor, operator, rich_message):
    for number in range(5):
        campaign = services.campaign_create(
            author=editor,
            name=f"c{number}",
            rich_message=rich_message,
            audience={"type": "all_followers"},
            send_at=timezone.now() + timedelta(hours=1),
        )
        services.campaign_submit(campaign=campaign, actor=editor)
        services.campaign_approve(campaign=campaign, approver=operator)
    # Due now, as at the minute the beat fires.
    CampaignSend.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    results, errors, barrier = [], [], threading.Barrier(2)

    def claim():
        barrier.wait()
        try:
            results.append(dispatch.sends_claim_due())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and len(results) == 2
    claimed = [send for result in results for send in result]
    assert sorted(claimed) == sorted(CampaignSend.objects.values_list("pk", flat=True))
    assert len(claimed) == len(set(claimed)) == 5


@pytest.mark.django_db
def test_it_creates_the_next_occurrence_once_from_a_claimed_one(approved):
    send_at = timezone.now() - timedelta(minutes=1)
    campaign = approved(send_at=send_at, recurrence="FREQ=DAILY", timezone="Asia/Bangkok")

    dispatch.sends_claim_due()
    dispatch.sends_claim_due()

    sends = list(CampaignSend.objects.filter(campaign=campaign).order_by("due_at"))
    assert [send.status for send in sends] == ["preparing", "pending"]
    assert sends[1].due_at - sends[0].due_at == timedelta(days=1)


@pytest.mark.django_db
def test_it_refuses_approving_a_one_off_whose_time_passed(editor, operator, rich_message):
    campaign = services.campaign_create(
        author=editor,
        name="late",
        rich_message=rich_message,
        audience={"type": "all_followers"},
        send_at=timezone.now() - timedelta(hours=2),
    )
    services.campaign_submit(campaign=campaign, actor=editor)

    with pytest.raises(Exception) as error:
        services.campaign_approve(campaign=campaign, approver=operator)

    assert "passed" in str(error.value)
    assert Campaign.objects.get(pk=campaign.pk).status == "in_review"


@pytest.mark.django_db
def test_it_enrols_a_follow_once_in_a_step_campaign_which_sends_n_days_later(line, approved, run_beat):
    campaign = approved(step_days=3)
    user = make_followers(1)[0]
    line.control.add_followers([user.line_user_id])
    followed = timezone.now() - timedelta(days=3, minutes=1)

    line_user_follow(user=user, followed_at=followed)
    line_user_follow(user=user, followed_at=followed + timedelta(seconds=5))
    run_beat()

    enrolment = StepEnrolment.objects.get()
    assert enrolment.campaign_id == campaign.pk and enrolment.status == "dispatched"
    assert enrolment.due_at == followed + timedelta(days=3)
    assert len(delivered_to(line, user.line_user_id)) == 1
    run_beat()
    assert len(multicasts(line)) == 1


@pytest.mark.django_db
def test_it_does_not_send_a_step_message_before_its_day(line, approved, run_beat):
    approved(step_days=2)
    user = make_followers(1)[0]

    line_user_follow(user=user, followed_at=timezone.now())
    run_beat()

    assert StepEnrolment.objects.get().status == "waiting"
    assert multicasts(line, status=None) == []


def test_it_counts_a_segment_whose_follow_date_has_an_offset_postgresql_would_refuse(db):
    from richmessages.campaigns import audiences

    early, late = make_followers(2)
    LineUser = type(early)
    LineUser.objects.filter(pk=early.pk).update(followed_at=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    LineUser.objects.filter(pk=late.pk).update(followed_at=datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")))

    # 2026-02-01T22:00Z written with an offset of -22:00, which ISO 8601 allows and PostgreSQL does not.
    audience = audiences.validate({"type": "segment", "followed_after": "2026-02-01T00:00:00-22:00"})

    assert list(audiences.candidates(audience).values_list("pk", flat=True)) == [late.pk]
