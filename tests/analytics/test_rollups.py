"""Rollups: recomputed for a range, updated incrementally by the beat task, and the command."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from analytics import rollups
from analytics.models import DailyRollup
from analytics.services import event_record
from analytics.tasks import update_rollups

from .conftest import SENT, T, deliver, make_users, roll, tap

pytestmark = pytest.mark.django_db


def rows(**filters):
    return list(DailyRollup.objects.filter(**filters).values_list("day", "type", "button", "events", "new_users"))


def test_it_counts_a_day_in_the_report_zone(campaign):
    user = make_users(1)[0]
    # 23:30 UTC on 1 November is 06:30 on 2 November in Bangkok.
    event_record(type=T.MESSAGE, line_user=user, occurred_at=SENT.replace(day=1, hour=23, minute=30))
    roll()

    assert rows(type=T.MESSAGE) == [(date(2026, 11, 2), "message", "", 1, 0)]


def test_it_counts_a_user_as_new_only_on_the_first_day(campaign):
    user = make_users(1)[0]
    deliver(campaign, [user])
    tap(user, campaign.rich_message, "like", at=SENT)
    tap(user, campaign.rich_message, "like", at=SENT + timedelta(days=1))
    roll()

    assert rows(type=T.POSTBACK, button="like") == [
        (date(2026, 11, 3), "postback", "like", 1, 0),
        (date(2026, 11, 2), "postback", "like", 1, 1),
    ]


def test_it_brings_the_rollups_up_to_date_with_new_events_and_is_safe_to_run_twice(campaign):
    users = make_users(3)
    deliver(campaign, users)
    update_rollups.apply().get()
    tap(users[0], campaign.rich_message, "more", at=SENT + timedelta(hours=1))

    first = update_rollups.apply().get()
    second = rollups.rollups_update()

    assert first["days"] == 2 and second == {"days": 0, "rows": 0}
    assert rows(type=T.POSTBACK, button="*") == [(date(2026, 11, 2), "postback", "*", 1, 1)]
    delivered = DailyRollup.objects.get(type=T.DELIVERED)
    assert (delivered.events, delivered.engaged_24h) == (3, 1)


def test_it_recomputes_a_range_from_the_command(campaign, capsys):
    deliver(campaign, make_users(2))
    DailyRollup.objects.create(day=date(2026, 11, 2), type=T.DELIVERED, campaign_id=campaign.pk, events=99)

    call_command("analytics_rollup", "--from", "2026-11-01", "--to", "2026-11-03")

    assert DailyRollup.objects.get(type=T.DELIVERED).events == 2
    assert "recomputed 3 day(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--from", "2026-13-01"], "not a date"), (["--from", "2026-11-02", "--to", "2026-11-01"], "before")],
)
def test_it_refuses_a_bad_range(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("analytics_rollup", *arguments)


def test_it_has_a_beat_entry():
    assert settings.CELERY_BEAT_SCHEDULE["analytics-update-rollups"]["task"] == "analytics.tasks.update_rollups"
