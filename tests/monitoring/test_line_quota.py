"""LINE's monthly quota as series, read by beat from LINE (the double) and by the predictive rule seeded for it."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from core.errors import LineApiError
from core.line.client import get_line_client
from core.redis import get_redis
from monitoring import tasks
from monitoring.alert_services import rule_evaluate
from monitoring.line_quota import line_quota_series
from monitoring.models import AlertRule, MetricSample
from tests.monitoring.alerting import write_series

pytestmark = pytest.mark.django_db

RULE = "LINE monthly quota runs out before the month ends"


@pytest.fixture(autouse=True)
def _no_reading():
    get_redis().delete("monitoring:line-quota")


def test_it_samples_the_quota_and_this_months_use_from_line(line):
    line.control.configure(monthlyQuota=1000)
    client = get_line_client()
    for _ in range(3):
        client.push(line.control.add_user()["userId"], [{"type": "text", "text": "hi"}], retry_key=uuid.uuid4())

    reading = tasks.sample_line_quota()

    assert reading["limit"] == 1000 and reading["used"] == 3
    assert line_quota_series() == {"line_quota_used": 3.0, "line_quota_limit": 1000.0, "line_quota_remaining": 997.0}


def test_it_stores_the_reading_with_the_minutes_samples(line):
    line.control.configure(monthlyQuota=500)
    tasks.sample_line_quota()

    tasks.record_metric_samples()

    assert MetricSample.objects.get(series="line_quota_remaining").value == 500.0


def test_it_gives_only_the_use_for_a_channel_without_a_monthly_limit(line):
    line.control.configure(monthlyQuota=0)

    tasks.sample_line_quota()

    assert line_quota_series() == {"line_quota_used": 0.0}


def test_it_gives_no_series_before_a_reading():
    assert line_quota_series() == {}


def test_it_keeps_the_last_reading_when_line_fails(line):
    line.control.configure(monthlyQuota=800)
    tasks.sample_line_quota()
    line.control.set_faults(errors=[{"endpoint": "getMessageQuota", "status": 500, "rate": 1.0}])

    with pytest.raises(LineApiError):
        tasks.sample_line_quota()

    assert line_quota_series()["line_quota_remaining"] == 800.0


def test_it_fires_the_seeded_rule_when_the_days_trend_empties_the_quota_before_month_end():
    rule = AlertRule.objects.get(name=RULE)
    now = timezone.localtime().replace(day=1, hour=12, minute=0, second=0, microsecond=0) + dt.timedelta(days=9)
    # 1,000 messages a day (one per 1.44 minutes) with 10,000 left on the 10th: gone long before the 30th.
    write_series("line_quota_remaining", lambda i: 10_000 + i * (1000 / 1440), minutes=24 * 60, end=now)

    assert rule_evaluate(rule, now).active


def test_it_stays_quiet_when_the_days_trend_leaves_quota_at_month_end():
    rule = AlertRule.objects.get(name=RULE)
    now = timezone.localtime().replace(day=1, hour=12, minute=0, second=0, microsecond=0) + dt.timedelta(days=9)
    write_series("line_quota_remaining", lambda i: 10_000 + i * (10 / 1440), minutes=24 * 60, end=now)

    assert not rule_evaluate(rule, now).active
