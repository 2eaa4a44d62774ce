"""Metric samples from every process's metrics, the SLO page, the monthly compliance report, and who may
act on alerts in the console."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pypdf import PdfReader

from accounts import roles
from accounts.models import AuditEvent
from monitoring import alert_services, reports
from monitoring.models import (
    Alert,
    AlertRule,
    ComplianceReport,
    MetricSample,
    OperatorLineOptIn,
    ServiceLevelObjective,
)
from monitoring.services import alert_raise
from monitoring.slo import slo_status
from tests.monitoring.alerting import write_counters

pytestmark = pytest.mark.django_db


def _families():
    registry = CollectorRegistry()
    Counter("line_api_calls_total", "calls", ["endpoint", "outcome"], registry=registry).labels("push", "ok").inc(9)
    calls = registry._names_to_collectors["line_api_calls_total"]
    calls.labels("push", "500").inc(1)
    acks = Histogram("webhook_ack_seconds", "acks", buckets=(0.5, 1.0, 2.0), registry=registry)
    for seconds in (0.1, 0.7, 1.5):
        acks.observe(seconds)
    Gauge("host_memory_used_percent", "memory", registry=registry).set(71.5)
    return list(registry.collect())


def test_it_samples_totals_labelled_counters_and_indicators():
    at = timezone.now()
    alert_services.metric_samples_record(at=at, families=_families())

    values = dict(MetricSample.objects.values_list("series", "value"))
    assert values["host_memory_used_percent"] == 71.5
    assert values["line_api_calls_total"] == 10
    assert values["line_api_calls_total{endpoint=push,outcome=500}"] == 1
    assert values["sli:push_success:good"] == 9 and values["sli:push_success:total"] == 10
    assert values["sli:webhook_ack:good"] == 2 and values["sli:webhook_ack:total"] == 3
    assert not any(name.endswith("_bucket") for name in values)


def test_it_keeps_one_sample_when_sampling_twice_in_a_minute():
    at = timezone.now().replace(second=5)
    alert_services.metric_samples_record(at=at, families=_families())
    alert_services.metric_samples_record(at=at.replace(second=40), families=_families())

    assert MetricSample.objects.filter(series="line_api_calls_total").count() == 1


def test_it_prunes_old_samples():
    now = timezone.now()
    MetricSample.objects.create(series="s", at=now - dt.timedelta(days=40), value=1)
    MetricSample.objects.create(series="s", at=now - dt.timedelta(days=1), value=2)

    assert alert_services.metric_samples_prune(now=now) == 1
    assert list(MetricSample.objects.values_list("value", flat=True)) == [2]


def test_it_makes_the_memory_monitors_thresholds_alert_rules():
    rules = {r.threshold_series: r for r in AlertRule.objects.filter(series="host_memory_used_percent")}
    assert rules["host_memory_warning_threshold_percent"].threshold == 70.0
    assert rules["host_memory_critical_threshold_percent"].threshold == 90.0
    assert rules["host_memory_critical_threshold_percent"].severity == "critical"


# --- objectives -----------------------------------------------------------------------------------
@pytest.fixture
def slo():
    ServiceLevelObjective.objects.all().delete()
    return ServiceLevelObjective.objects.create(name="Acks", indicator="webhook_ack", objective=0.99, window_days=1)


def test_it_computes_the_error_budget_left(slo):
    now = timezone.now().replace(second=0, microsecond=0)
    # 100 events a minute for 10 hours, half a percent bad: half the 1% budget spent.
    write_counters(slo.good_series, slo.total_series, lambda i: 0.5, minutes=600, end=now)

    status = slo_status(slo, start=now - dt.timedelta(days=1), end=now, burn_down=True)

    assert status.total == 60_000
    assert status.ratio == pytest.approx(0.995)
    assert status.met
    assert status.budget_remaining == pytest.approx(0.5)
    assert status.burn_down[0][1] == pytest.approx(1.0)
    assert status.burn_down[-1][1] == pytest.approx(0.5)
    assert len(status.burn_down) <= 130


def test_it_counts_campaign_sends_delivered_within_their_window(settings):
    from monitoring.slo import campaign_indicator
    from richmessages.campaigns.models import Campaign, CampaignSend

    settings.SLO_CAMPAIGN_WINDOW_SECONDS = 3600
    campaign = Campaign.objects.create(name="sale")
    due = timezone.now() - dt.timedelta(days=1)
    CampaignSend.objects.create(campaign=campaign, due_at=due, status="done", finished_at=due + dt.timedelta(minutes=5))
    CampaignSend.objects.create(
        campaign=campaign, due_at=due + dt.timedelta(hours=1), status="done", finished_at=due + dt.timedelta(hours=3)
    )
    CampaignSend.objects.create(campaign=campaign, due_at=due + dt.timedelta(hours=2), status="failed")
    CampaignSend.objects.create(campaign=campaign, due_at=due + dt.timedelta(hours=5), status="pending")

    assert campaign_indicator() == {"sli:campaign_on_time:good": 1.0, "sli:campaign_on_time:total": 3.0}


def test_it_writes_the_monthly_report_as_html_and_pdf(slo):
    now = timezone.make_aware(dt.datetime(2026, 11, 1, 0, 30))
    write_counters(slo.good_series, slo.total_series, lambda i: 2.0, minutes=600, end=now - dt.timedelta(hours=2))

    report = reports.compliance_report_generate(now=now)

    assert report.month == dt.date(2026, 10, 1)
    html = report.html.read().decode()
    assert "Acks" in html and "NO" in html and "98.000%" in html
    text = PdfReader(io.BytesIO(report.pdf.read())).pages[0].extract_text()
    assert "SLO compliance, October 2026" in text and "Acks" in text
    assert report.summary[0]["met"] is False


def test_it_replaces_a_months_report_when_generating_it_again(slo):
    now = timezone.make_aware(dt.datetime(2026, 11, 2))
    reports.compliance_report_generate(now=now)
    reports.compliance_report_generate(now=now)

    assert ComplianceReport.objects.count() == 1


# --- the console ----------------------------------------------------------------------------------
@pytest.fixture
def staff(django_user_model, verified_client):
    def sign_in(role):
        user = django_user_model.objects.create_user(role.lower().replace(" ", "-"), password="x" * 16, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user, verified_client(user)

    return sign_in


def test_it_shows_budgets_to_analysts_on_the_slo_page(staff, slo):
    now = timezone.now().replace(second=0, microsecond=0)
    write_counters(slo.good_series, slo.total_series, lambda i: 0.5, minutes=120, end=now)
    _, client = staff(roles.ANALYST)

    response = client.get("/admin/monitoring/servicelevelobjective/status/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Acks" in body and 'data-slo-value="budget">50.0%' in body
    assert 'id="slo-charts" type="application/json"' in body
    assert "<script>" not in body


def test_it_closes_the_slo_page_to_content_editors(staff, slo):
    _, client = staff(roles.CONTENT_EDITOR)
    assert client.get("/admin/monitoring/servicelevelobjective/status/").status_code == 403


def test_it_needs_a_signed_in_user_for_the_slo_page(client):
    response = client.get("/admin/monitoring/servicelevelobjective/status/")
    assert response.status_code == 302


def _action(client, action, alert):
    return client.post("/admin/monitoring/alert/", {"action": action, "_selected_action": [alert.pk]}, follow=True)


def test_it_lets_an_operator_acknowledge_and_resolve_in_the_console(staff):
    user, client = staff(roles.OPERATOR)
    alert = alert_raise(kind="k", severity="critical", message="m")

    _action(client, "acknowledge", alert)
    _action(client, "resolve", alert)

    alert.refresh_from_db()
    assert alert.acknowledged_by == user and alert.resolved_by == user
    assert alert.state == Alert.State.RESOLVED
    assert {"alert_acknowledged", "alert_resolved"} <= set(
        AuditEvent.objects.filter(actor=user).values_list("action", flat=True)
    )


def test_it_refuses_an_analyst_acknowledging(staff):
    _, client = staff(roles.ANALYST)
    alert = alert_raise(kind="k", severity="critical", message="m")

    _action(client, "acknowledge", alert)

    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert not AuditEvent.objects.filter(action="alert_acknowledged").exists()


def test_it_shows_an_alerts_history_on_its_page(staff):
    _, client = staff(roles.OPERATOR)
    alert = alert_raise(kind="burst", severity="warning", message="too many")

    body = client.get(f"/admin/monitoring/alert/{alert.pk}/change/").content.decode()

    assert "history" in body.lower() and "Fired" in body


def test_it_lets_an_analyst_but_not_a_content_editor_download_the_report(staff, slo):
    report = reports.compliance_report_generate(now=timezone.make_aware(dt.datetime(2026, 11, 2)))
    _, analyst = staff(roles.ANALYST)
    response = analyst.get(f"/admin/monitoring/compliancereport/{report.pk}/file/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert analyst.get(f"/admin/monitoring/compliancereport/{report.pk}/file/other/").status_code == 404

    _, editor = staff(roles.CONTENT_EDITOR)
    assert editor.get(f"/admin/monitoring/compliancereport/{report.pk}/file/pdf/").status_code == 403


def test_it_lets_an_operator_add_a_rule_in_the_console_and_refuses_a_bad_one(staff):
    user, client = staff(roles.OPERATOR)
    MetricSample.objects.create(series="celery_queue_depth", at=timezone.now(), value=3)
    page = client.get("/admin/monitoring/alertrule/add/")
    assert page.status_code == 200 and "celery_queue_depth" in page.content.decode()
    form = {
        "name": "deep queue",
        "kind": "threshold",
        "enabled": "on",
        "severity": "warning",
        "series": "celery_queue_depth",
        "aggregation": "avg",
        "window_seconds": "300",
        "comparison": "gt",
        "threshold": "100",
        "method": "linear",
        "burn_policy": "page",
        "pending_seconds": "120",
    }

    refused = client.post("/admin/monitoring/alertrule/add/", {**form, "kind": "burn_rate"})
    assert refused.status_code == 200 and "needs a service level objective" in refused.content.decode()
    assert not AlertRule.objects.filter(name="deep queue").exists()

    client.post("/admin/monitoring/alertrule/add/", form)
    assert AlertRule.objects.get(name="deep queue").pending_seconds == 120
    assert AuditEvent.objects.filter(actor=user, action=AuditEvent.Action.ADMIN_ADD, target__contains="deep queue")


def test_it_says_on_the_slo_page_when_no_objective_is_enabled(staff):
    ServiceLevelObjective.objects.update(enabled=False)
    _, client = staff(roles.OPERATOR)
    assert (
        "No objectives are enabled." in client.get("/admin/monitoring/servicelevelobjective/status/").content.decode()
    )


def test_it_lets_an_operator_opt_only_themselves_in_to_line_alerts(staff, django_user_model):
    user, client = staff(roles.OPERATOR)
    other = django_user_model.objects.create_user("someone", password="x" * 16, is_staff=True)

    client.post(
        "/admin/monitoring/operatorlineoptin/add/",
        {
            "user": other.pk,
            "line_user_id": "U" + "c" * 32,
            "enabled": "on",
            "created_at_0": "2026-11-30",
            "created_at_1": "10:00:00",
        },
    )

    opt_in = OperatorLineOptIn.objects.get()
    assert opt_in.user == user
    assert AuditEvent.objects.filter(actor=user, action=AuditEvent.Action.ADMIN_ADD).exists()
