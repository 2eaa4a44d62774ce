"""A user's engagement profile in their own zone: heatmap, streaks, last engaged, cohort."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.profiles import streaks, user_profile
from analytics.services import event_record

from .conftest import T, make_users

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def engaged(user, *moments):
    for moment in moments:
        event_record(type=T.MESSAGE, line_user=user, occurred_at=moment)


# 16:30 UTC is 23:30 in Bangkok (UTC+7) and 01:30 the next day in Tokyo (UTC+9); 17:30 UTC is 00:30 in Bangkok.
LATE = datetime(2026, 11, 18, 16, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 11, 18, 17, 30, tzinfo=UTC)


def test_it_counts_two_days_across_midnight_in_bangkok():
    user = make_users(1, timezone="Asia/Bangkok")[0]
    engaged(user, LATE, AFTER_MIDNIGHT)

    profile = user_profile(user, now=NOW)

    assert (profile["engaged_days"], profile["longest_streak_days"]) == (2, 2)
    counts = profile["heatmap"]["counts"]
    assert counts[2][23] == 1 and counts[3][0] == 1  # Wednesday 23:00, Thursday 00:00


def test_it_counts_the_same_moments_as_one_day_in_tokyo():
    user = make_users(1, timezone="Asia/Tokyo")[0]
    engaged(user, LATE, AFTER_MIDNIGHT)

    profile = user_profile(user, now=NOW)

    assert (profile["engaged_days"], profile["longest_streak_days"]) == (1, 1)
    counts = profile["heatmap"]["counts"]
    assert counts[3][1] == 1 and counts[3][2] == 1  # Thursday 01:00 and 02:00


def test_it_uses_the_report_zone_when_the_user_has_none(settings):
    settings.ANALYTICS_TIME_ZONE = "Asia/Bangkok"
    user = make_users(1)[0]

    assert user_profile(user, now=NOW)["timezone"] == "Asia/Bangkok"


def test_it_breaks_a_streak_on_a_day_missed():
    user = make_users(1, timezone="Asia/Bangkok")[0]
    start = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    # Three days in a row, one day missed, then two days ending yesterday (19 November).
    engaged(user, start, start + timedelta(days=1), start + timedelta(days=2))
    engaged(user, start + timedelta(days=8), start + timedelta(days=9))

    profile = user_profile(user, now=NOW)

    assert (profile["current_streak_days"], profile["longest_streak_days"]) == (2, 3)
    assert profile["last_engaged_at"] == start + timedelta(days=9)


def test_it_ends_the_current_streak_after_a_whole_day_without_engagement():
    assert streaks([date(2026, 11, 17), date(2026, 11, 18)], today=date(2026, 11, 20)) == (0, 2)


def test_it_never_counts_deliveries_as_engagement():
    user = make_users(1)[0]
    event_record(type=T.DELIVERED, line_user=user, occurred_at=LATE)

    profile = user_profile(user, now=NOW)

    assert (profile["engaged_days"], profile["last_engaged_at"], profile["current_streak_days"]) == (0, None, 0)


def test_it_puts_the_user_in_the_cohort_of_their_follow_week():
    # Sunday 22:00 UTC is already Monday in Bangkok: ISO week 48.
    user = make_users(1, timezone="Asia/Bangkok", followed_at=datetime(2026, 11, 22, 22, 0, tzinfo=UTC))[0]

    assert user_profile(user, now=NOW)["cohort"] == "2026-W48"
