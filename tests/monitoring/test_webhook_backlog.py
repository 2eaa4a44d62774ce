"""Events still waiting as series (monitoring/webhook_backlog.py), and the two rules seeded on them."""

import datetime as dt

import pytest
from django.utils import timezone

from conversations.models import WebhookEvent, WebhookEventOutbox
from conversations.selectors import webhook_backlog
from monitoring import tasks
from monitoring.alert_services import rule_evaluate
from monitoring.models import AlertRule, MetricSample
from tests.monitoring.alerting import NOW, write_series

pytestmark = pytest.mark.django_db

# The rules the migration seeds: their name, the series each reads, and the age in seconds it fires above.
SEEDED_RULES = pytest.mark.parametrize(
    ("rule", "series", "limit"),
    [
        ("LINE events wait for the relay", "webhook_events_unpublished_oldest_seconds", 60),
        ("LINE events not answered", "webhook_events_unfinished_oldest_seconds", 300),
    ],
)


def stored(key: str, *, seconds_ago: float, status: str = "received", in_outbox: bool = False) -> WebhookEvent:
    event = WebhookEvent.objects.create(
        webhook_event_id=key,
        content_digest=key,
        event_type="message",
        payload={},
        status=status,
        received_at=NOW - dt.timedelta(seconds=seconds_ago),
    )
    if in_outbox:
        WebhookEventOutbox.objects.create(event=event)
    return event


def test_it_counts_nothing_waiting_as_zero():
    assert webhook_backlog(now=NOW) == {
        "webhook_events_unpublished": 0.0,
        "webhook_events_unpublished_oldest_seconds": 0.0,
        "webhook_events_unfinished": 0.0,
        "webhook_events_unfinished_oldest_seconds": 0.0,
    }


def test_it_counts_the_unpublished_and_the_unfinished_with_the_age_of_the_oldest():
    stored("01OUTBOX-OLD", seconds_ago=90, in_outbox=True)
    stored("01OUTBOX-NEW", seconds_ago=5, in_outbox=True)
    stored("01WORKING", seconds_ago=400, status="processing")
    stored("01ANSWERED", seconds_ago=9000, status="replied")
    stored("01GAVE-UP", seconds_ago=9000, status="failed")

    assert webhook_backlog(now=NOW) == {
        "webhook_events_unpublished": 2.0,
        "webhook_events_unpublished_oldest_seconds": 90.0,
        "webhook_events_unfinished": 3.0,
        "webhook_events_unfinished_oldest_seconds": 400.0,
    }


def test_it_is_sampled_with_the_other_series_every_minute():
    WebhookEvent.objects.create(
        webhook_event_id="01NOW", content_digest="x", event_type="message", payload={}, received_at=timezone.now()
    )

    tasks.record_metric_samples()

    assert MetricSample.objects.get(series="webhook_events_unfinished").value == 1.0
    assert MetricSample.objects.get(series="webhook_events_unpublished").value == 0.0


@SEEDED_RULES
def test_it_fires_the_seeded_rule_when_the_oldest_waited_too_long_the_whole_window(rule, series, limit):
    seeded = AlertRule.objects.get(name=rule)
    # Stopped ten minutes ago: the oldest event's age has grown by a minute a minute since.
    write_series(series, lambda i: (10 - i) * 60.0, minutes=10)

    assert rule_evaluate(seeded, NOW).active


@SEEDED_RULES
def test_it_keeps_the_seeded_rule_quiet_for_one_slow_event_answered_since(rule, series, limit):
    seeded = AlertRule.objects.get(name=rule)
    write_series(series, lambda i: limit + 30 if i == 1 else 1.0, minutes=10)

    outcome = rule_evaluate(seeded, NOW)

    assert not outcome.active
    assert outcome.value == 1.0
