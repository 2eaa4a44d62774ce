"""The beat tasks of alerting: sampling this process's real metrics, evaluating, pruning, reporting."""

import datetime as dt

import pytest
from django.utils import timezone

from core.line.client import LINE_CALLS
from monitoring import tasks
from monitoring.models import Alert, AlertRule, ComplianceReport, MetricSample
from tests.monitoring.alerting import write_series

pytestmark = pytest.mark.django_db


def test_it_stores_the_metrics_of_this_process_in_the_sampling_task():
    LINE_CALLS.labels(endpoint="push", outcome="ok").inc()

    assert tasks.record_metric_samples() > 0

    assert MetricSample.objects.filter(series="line_api_calls_total{endpoint=push,outcome=ok}", value__gte=1).exists()
    assert MetricSample.objects.filter(series="sli:push_success:total", value__gte=1).exists()


def test_it_goes_on_with_the_other_rules_when_one_is_broken():
    now = timezone.now()
    write_series("queue", lambda i: 50.0, minutes=10, end=now)
    AlertRule.objects.create(name="broken", series="queue", threshold=1.0, aggregation="median")
    AlertRule.objects.create(name="sound", series="queue", threshold=1.0)

    result = tasks.evaluate_alert_rules()

    assert result["failed"] == 1 and result["fired"] == 1
    assert Alert.objects.get(state=Alert.State.FIRING).kind == "sound"


def test_it_skips_a_disabled_rule():
    now = timezone.now()
    write_series("queue", lambda i: 50.0, minutes=10, end=now)
    AlertRule.objects.create(name="off", series="queue", threshold=1.0, enabled=False)

    tasks.evaluate_alert_rules()

    assert not Alert.objects.exists()


def test_it_keeps_recent_samples_when_pruning():
    MetricSample.objects.create(series="s", at=timezone.now() - dt.timedelta(days=36), value=1)
    MetricSample.objects.create(series="s", at=timezone.now(), value=2)

    assert tasks.prune_metric_samples() == 1


def test_it_reports_on_the_month_that_ended():
    tasks.generate_compliance_report()

    report = ComplianceReport.objects.get()
    assert report.month == (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    assert report.pdf and report.html
