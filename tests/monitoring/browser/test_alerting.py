"""An alert in Chromium: it fires from sampled metrics, a webhook receiver in this test gets the JSON, the
condition clears and the alert resolves; and the SLO page draws its burn-down charts under the CSP."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from core.line.client import LINE_CALLS
from monitoring import alert_services
from monitoring.models import Alert, AlertRule, NotificationChannel, ServiceLevelObjective
from tests.browser import LAPTOP_VIEWPORT, horizontal_overflow, screenshot
from tests.monitoring.alerting import WebhookReceiver, write_counters

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def console(browser, live_server, make_staff):
    """A page of the ops console signed in as an Operator who passed the second factor."""
    user = make_staff("on-call", role=roles.OPERATOR)
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP_VIEWPORT)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}])
    errors = []
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_default_timeout(15_000)
    page.console_errors = errors
    yield page
    context.close()


def _state_on_page(page, alert: Alert) -> str:
    page.goto(f"/admin/monitoring/alert/{alert.pk}/change/")
    return page.inner_text(".field-state .readonly").strip()


def test_it_fires_an_alert_notifies_a_webhook_receiver_and_resolves(console, transactional_db):
    failed_pushes = LINE_CALLS.labels(endpoint="push", outcome="500")
    start = timezone.now().replace(second=0, microsecond=0)

    def minute(n: int) -> dt.datetime:
        return start + dt.timedelta(minutes=n)

    with WebhookReceiver() as receiver:
        channel = NotificationChannel.objects.create(name="on-call hook", kind="webhook", target=receiver.url)
        rule = AlertRule.objects.create(
            name="LINE push failing",
            kind="threshold",
            series="line_api_calls_total{endpoint=push,outcome=500}",
            aggregation="increase",
            comparison="gt",
            threshold=0,
            window_seconds=300,
            pending_seconds=60,
            severity="critical",
        )
        rule.channels.add(channel)

        alert_services.metric_samples_record(at=minute(0))
        failed_pushes.inc(3)
        alert_services.metric_samples_record(at=minute(1))
        alert_services.rules_evaluate(now=minute(1))
        alert = Alert.objects.get(rule=rule)
        assert _state_on_page(console, alert) == "Pending"
        assert receiver.received == []

        alert_services.metric_samples_record(at=minute(2))
        alert_services.rules_evaluate(now=minute(2))
        fired = receiver.wait(1)
        assert fired[0]["status"] == "firing"
        assert fired[0]["alerts"][0]["kind"] == "LINE push failing"
        assert fired[0]["alerts"][0]["value"] == 3
        assert _state_on_page(console, alert) == "Firing"
        console.goto("/admin/monitoring/alert/")
        row = console.locator("#result_list tbody tr", has_text="LINE push failing")
        assert "Firing" in row.inner_text()
        screenshot(console, "alert-firing", full_page=True)

        # No more failures: once the five-minute window has slid past them the condition clears.
        for n in range(3, 9):
            alert_services.metric_samples_record(at=minute(n))
        alert_services.rules_evaluate(now=minute(8))
        resolved = receiver.wait(2)

    assert resolved[1]["status"] == "resolved"
    assert resolved[1]["alerts"][0]["resolved_at"]
    assert _state_on_page(console, alert) == "Resolved"
    history = console.inner_text("#events-group")
    for step in ("Condition met, pending", "Fired", "Notified", "Resolved"):
        assert step in history
    screenshot(console, "alert-resolved", full_page=True)


def test_it_draws_burn_down_charts_on_the_slo_page_at_1366_px(console, transactional_db):
    ServiceLevelObjective.objects.all().delete()
    slo = ServiceLevelObjective.objects.create(name="Replies", indicator="reply_latency", objective=0.99, window_days=1)
    now = timezone.now().replace(second=0, microsecond=0)
    write_counters(slo.good_series, slo.total_series, lambda i: 0.25 if i < 180 else 0.0, minutes=600, end=now)

    console.goto("/admin/monitoring/servicelevelobjective/status/")
    console.wait_for_selector("[data-chart] canvas")

    assert console.inner_text('[data-slo-value="budget"]') == "92.5%"
    assert console.inner_text('[data-slo-value="ratio"]') == "99.925%"
    assert horizontal_overflow(console) == 0
    assert not [e for e in console.console_errors if "Content Security Policy" in e]
    screenshot(console, "slo-page", full_page=True)
