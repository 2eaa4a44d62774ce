"""Each kind of alert rule on synthetic series: thresholds, rates of change, trends, SLO burn rates."""

import datetime as dt

import pytest

from monitoring import alert_rules
from monitoring.alert_services import rule_evaluate
from monitoring.models import AlertRule, ServiceLevelObjective
from tests.monitoring.alerting import NOW, write_counters, write_series

pytestmark = pytest.mark.django_db


def _rule(**fields):
    defaults = {"name": "rule", "kind": "threshold", "series": "s", "threshold": 10.0, "window_seconds": 300}
    return AlertRule.objects.create(**{**defaults, **fields})


# --- the arithmetic -------------------------------------------------------------------------------
def test_it_counts_a_counter_reset_as_growth_from_zero():
    assert alert_rules.increase([(0, 10), (60, 15), (120, 3), (180, 5)]) == 5 + 3 + 2


def test_it_fits_a_line_through_points():
    points = [(t, 2.0 * t + 1) for t in range(0, 600, 60)]
    assert alert_rules.linear_forecast(points, 1200) == pytest.approx(2401)


def test_it_follows_a_trend_with_holt():
    points = [(t, 5.0 + 0.5 * t) for t in range(0, 3600, 60)]
    assert alert_rules.holt_forecast(points, 7200) == pytest.approx(5 + 0.5 * 7200, rel=1e-3)


def test_it_refuses_an_unknown_aggregation():
    with pytest.raises(ValueError, match="unknown aggregation"):
        alert_rules.aggregate([(0, 1)], "median")


def test_it_has_no_burn_rate_without_events():
    assert alert_rules.burn_rate([(0, 5), (60, 5)], [(0, 5), (60, 5)], 0.99) is None


# --- threshold ------------------------------------------------------------------------------------
def test_it_fires_a_threshold_rule_on_the_average_over_the_window():
    write_series("s", lambda i: 12.0, minutes=10)
    assert rule_evaluate(_rule(aggregation="avg"), NOW).active


def test_it_ignores_a_spike_outside_the_window():
    write_series("s", lambda i: 100.0 if i > 6 else 5.0, minutes=10)
    outcome = rule_evaluate(_rule(aggregation="max", window_seconds=300), NOW)
    assert not outcome.active
    assert outcome.value == 5.0
    assert rule_evaluate(_rule(name="wide", aggregation="max", window_seconds=600), NOW).active


def test_it_fires_a_below_threshold_rule():
    write_series("s", lambda i: 3.0, minutes=10)
    assert rule_evaluate(_rule(comparison="lt"), NOW).active
    assert not rule_evaluate(_rule(name="above", comparison="gt"), NOW).active


def test_it_reads_the_threshold_from_a_series_when_told():
    write_series("host_memory_used_percent", lambda i: 75.0, minutes=10)
    write_series("host_memory_warning_threshold_percent", lambda i: 80.0, minutes=10)
    rule = _rule(
        series="host_memory_used_percent", threshold=70.0, threshold_series="host_memory_warning_threshold_percent"
    )
    assert not rule_evaluate(rule, NOW).active  # 75 is above 70 but below the monitor's 80


def test_it_does_not_fire_without_data():
    outcome = rule_evaluate(_rule(), NOW)
    assert not outcome.active and outcome.value is None


def test_it_sums_a_counters_increase_over_the_window():
    write_series("errors_total", lambda i: 1000.0 - 3 * i, minutes=20)
    rule = _rule(series="errors_total", aggregation="increase", threshold=14.0, window_seconds=300)
    outcome = rule_evaluate(rule, NOW)
    assert outcome.value == pytest.approx(18.0)  # 5 minutes plus the baseline minute before the window
    assert outcome.active


# --- rate of change -------------------------------------------------------------------------------
def test_it_fires_on_a_fast_rise():
    write_series("queue", lambda i: 1000.0 - 20 * i, minutes=10)
    outcome = rule_evaluate(_rule(kind="rate", series="queue", threshold=15.0), NOW)
    assert outcome.value == pytest.approx(20.0)
    assert outcome.active


def test_it_stays_quiet_on_a_flat_series():
    write_series("queue", lambda i: 50.0, minutes=10)
    assert not rule_evaluate(_rule(kind="rate", series="queue", threshold=1.0), NOW).active


# --- predictive -----------------------------------------------------------------------------------
def test_it_predicts_the_monthly_quota_running_out_before_month_end():
    # 20 Nov at noon, 2,000 messages an hour, 600,000 used of 1,000,000: about 504,000 more by 30 Nov's end.
    write_series("line_quota_used", lambda i: 600_000 - 2000 * i / 60, minutes=3 * 60)
    write_series("line_quota_limit", lambda i: 1_000_000.0, minutes=10)
    rule = _rule(
        kind="predictive",
        series="line_quota_used",
        threshold_series="line_quota_limit",
        threshold=None,
        window_seconds=3 * 3600,
        horizon_end_of_month=True,
    )
    outcome = rule_evaluate(rule, NOW)
    assert outcome.active
    assert outcome.value == pytest.approx(600_000 + 2000 * (10 * 24 + 12), rel=0.01)


def test_it_does_not_predict_a_quota_that_lasts():
    write_series("line_quota_used", lambda i: 100_000 - 10 * i / 60, minutes=3 * 60)
    rule = _rule(
        kind="predictive",
        series="line_quota_used",
        threshold=1_000_000.0,
        window_seconds=3 * 3600,
        horizon_end_of_month=True,
    )
    assert not rule_evaluate(rule, NOW).active


def test_it_predicts_with_holt_within_a_fixed_horizon():
    write_series("disk", lambda i: 80.0 - 0.1 * i, minutes=60)
    rule = _rule(
        kind="predictive", series="disk", threshold=95.0, window_seconds=3600, method="holt", horizon_seconds=3 * 3600
    )
    outcome = rule_evaluate(rule, NOW)
    assert outcome.value == pytest.approx(80 + 0.1 * 180, rel=0.02)
    assert outcome.active
    rule.horizon_seconds = 3600
    assert not rule_evaluate(rule, NOW).active


# --- SLO burn rate --------------------------------------------------------------------------------
@pytest.fixture
def slo():
    return ServiceLevelObjective.objects.create(name="acks", indicator="webhook_ack", objective=0.999)


def _burn_rule(slo, policy):
    return AlertRule.objects.create(name=f"burn {policy}", kind="burn_rate", slo=slo, burn_policy=policy)


def test_it_pages_when_the_hour_and_the_last_five_minutes_burn_at_14_4x(slo):
    # 2% bad is a burn rate of 20 against a 0.1% budget.
    write_counters(slo.good_series, slo.total_series, lambda i: 2.0, minutes=70)
    outcome = rule_evaluate(_burn_rule(slo, "page"), NOW)
    assert outcome.active
    assert outcome.value == pytest.approx(20.0, rel=0.05)


def test_it_does_not_page_once_the_last_five_minutes_recovered(slo):
    # 50 minutes of heavy burning that stopped 10 minutes ago in clean hours: the 1 h window is hot, the 5 min
    # window is not, and over 6 h it averages below 6x.
    write_counters(slo.good_series, slo.total_series, lambda i: 3.0 if 10 <= i < 60 else 0.0, minutes=6 * 60 + 10)
    outcome = rule_evaluate(_burn_rule(slo, "page"), NOW)
    assert not outcome.active
    assert "14.4x" in outcome.summary


def test_it_does_not_page_on_a_short_spike_alone(slo):
    # Five minutes of 10% bad in an otherwise clean hour: 5 min burns at 100, the hour at about 8.
    write_counters(slo.good_series, slo.total_series, lambda i: 10.0 if i < 5 else 0.0, minutes=6 * 60 + 10)
    assert not rule_evaluate(_burn_rule(slo, "page"), NOW).active


def test_it_pages_on_six_hours_and_thirty_minutes_at_6x(slo):
    # 0.8% bad (burn 8): below 14.4 over the hour, above 6 over 6 h and 30 min.
    write_counters(slo.good_series, slo.total_series, lambda i: 0.8, minutes=6 * 60 + 10)
    outcome = rule_evaluate(_burn_rule(slo, "page"), NOW)
    assert outcome.active
    assert outcome.value == pytest.approx(8.0, rel=0.05)


def test_it_opens_a_ticket_on_three_days_and_six_hours_at_1x(slo):
    # 0.15% bad for three days: a burn of 1.5, far from paging.
    write_counters(slo.good_series, slo.total_series, lambda i: 0.15, minutes=3 * 24 * 60 + 10)
    assert rule_evaluate(_burn_rule(slo, "ticket"), NOW).active
    assert not rule_evaluate(_burn_rule(slo, "page"), NOW).active


def test_it_opens_no_ticket_when_the_last_six_hours_were_clean(slo):
    write_counters(slo.good_series, slo.total_series, lambda i: 0.3 if i > 6 * 60 else 0.0, minutes=3 * 24 * 60 + 10)
    assert not rule_evaluate(_burn_rule(slo, "ticket"), NOW).active


def test_it_refuses_a_burn_rate_rule_without_an_objective():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="service level objective"):
        AlertRule(name="x", kind="burn_rate").full_clean()


def test_it_refuses_a_predictive_rule_without_a_horizon():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="horizon"):
        AlertRule(name="x", kind="predictive", series="s", threshold=1.0).full_clean()


def test_it_uses_the_workbooks_burn_windows():
    assert AlertRule(burn_policy="page").burn_windows == [(3600, 300, 14.4), (21600, 1800, 6.0)]
    assert AlertRule(burn_policy="ticket").burn_windows == [(259200, 21600, 1.0)]
    assert dt.timedelta(seconds=259200) == dt.timedelta(days=3)


def test_it_does_not_page_on_a_handful_of_events(slo):
    # Three failures out of three is a burn rate of 1000, but too few events to wake anyone.
    write_counters(
        slo.good_series, slo.total_series, lambda i: 0.1 if i < 30 else 0.0, minutes=70, events_per_minute=0.1
    )
    outcome = rule_evaluate(_burn_rule(slo, "page"), NOW)
    assert outcome.value is not None and outcome.value > 14.4
    assert not outcome.active


def test_it_falls_back_to_the_threshold_for_a_threshold_series_not_yet_set():
    write_series("host_memory_used_percent", lambda i: 75.0, minutes=10)
    write_series("host_memory_critical_threshold_percent", lambda i: 0.0, minutes=10)
    rule = _rule(
        series="host_memory_used_percent", threshold=90.0, threshold_series="host_memory_critical_threshold_percent"
    )
    outcome = rule_evaluate(rule, NOW)
    assert not outcome.active
    assert "above 90" in outcome.summary
