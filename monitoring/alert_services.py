"""Writes of alerting: metric samples, rule evaluation with its pending period, dedup and grouping,
operator actions (acknowledge, resolve, silence, LINE opt-in), and queueing notifications.

Evaluation never sends anything itself: it stores :class:`Notification` rows and queues one Celery task
each (``monitoring.tasks.send_notification``) once the transaction commits, so a slow mail server or
webhook never holds up the next rule.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from core.errors import ValidationError
from core.logging import get_logger
from monitoring import alert_rules, multiprocess, series
from monitoring.models import (
    Alert,
    AlertEvent,
    AlertRule,
    MetricSample,
    Notification,
    NotificationChannel,
    OperatorLineOptIn,
    Silence,
)
from monitoring.notifiers import send_notification
from monitoring.selectors import series_points

log = get_logger(__name__)

SAMPLE_RETENTION = dt.timedelta(days=35)
Rule = AlertRule.Kind


# --- samples --------------------------------------------------------------------------------------
def metric_samples_record(*, at: dt.datetime | None = None, families: Iterable | None = None) -> int:
    """Stores every series' value at this minute; a second run in the same minute adds nothing."""
    at = (at or timezone.now()).replace(second=0, microsecond=0)
    values = series.from_families(multiprocess.collect() if families is None else families)
    rows = [MetricSample(series=name[:200], at=at, value=value) for name, value in values.items()]
    MetricSample.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def metric_samples_prune(*, now: dt.datetime | None = None, keep: dt.timedelta = SAMPLE_RETENTION) -> int:
    deleted, _ = MetricSample.objects.filter(at__lt=(now or timezone.now()) - keep).delete()
    return deleted


# --- evaluating one rule --------------------------------------------------------------------------
def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def _fmt(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def _end_of_month(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    last_day = calendar.monthrange(local.year, local.month)[1]
    return local.replace(day=last_day, hour=23, minute=59, second=59, microsecond=0)


def _threshold(rule: AlertRule, now: dt.datetime) -> float | None:
    if rule.threshold_series:
        points = series_points(rule.threshold_series, since=now - dt.timedelta(hours=1), until=now)
        # A gauge reads 0 until its process sets it (the memory monitor before its first check): not a threshold.
        if points and (points[-1][1] > 0 or rule.threshold is None):
            return points[-1][1]
    return rule.threshold


def _burn(rule: AlertRule, now: dt.datetime) -> alert_rules.Outcome:
    slo = rule.slo
    t = now.timestamp()
    longest = max(long for long, _, _ in rule.burn_windows)
    since = now - dt.timedelta(seconds=longest + 120)
    good = series_points(slo.good_series, since=since, until=now)
    total = series_points(slo.total_series, since=since, until=now)
    active, parts, value = False, [], None
    for long, short, factor in rule.burn_windows:
        rates = [
            alert_rules.burn_rate(
                alert_rules.within(good, t - span, t), alert_rules.within(total, t - span, t), slo.objective
            )
            for span in (long, short)
        ]
        if value is None:
            value = rates[0]
        enough = alert_rules.increase(alert_rules.within(total, t - long, t)) >= slo.min_events
        if enough and all(rate is not None and rate > factor for rate in rates):
            active = True
            value = rates[0]
        parts.append(f"{factor:g}x: {_fmt(rates[0])} over {_span(long)}, {_fmt(rates[1])} over {_span(short)}")
    return alert_rules.Outcome(active, value, f"{slo.name} burn rate " + "; ".join(parts))


def rule_evaluate(rule: AlertRule, now: dt.datetime) -> alert_rules.Outcome:
    """Whether the rule's condition holds at ``now``; reads the samples, writes nothing."""
    if rule.kind == Rule.BURN_RATE:
        return _burn(rule, now)
    t = now.timestamp()
    points = series_points(rule.series, since=now - dt.timedelta(seconds=rule.window_seconds + 120), until=now)
    points = alert_rules.within(points, t - rule.window_seconds, t)
    threshold = _threshold(rule, now)
    if threshold is None:
        return alert_rules.Outcome(False, None, f"{rule.series}: no threshold")
    word = "above" if rule.comparison == "gt" else "below"
    if rule.kind == Rule.THRESHOLD:
        value = alert_rules.aggregate(points, rule.aggregation)
        summary = f"{rule.aggregation} of {rule.series} over {_span(rule.window_seconds)} is {_fmt(value)}"
    elif rule.kind == Rule.RATE:
        value = alert_rules.rate_per_minute(points)
        summary = f"{rule.series} changes by {_fmt(value)}/min over {_span(rule.window_seconds)}"
    elif rule.kind == Rule.PREDICTIVE:
        horizon = _end_of_month(now) if rule.horizon_end_of_month else now + dt.timedelta(seconds=rule.horizon_seconds)
        forecast = alert_rules.holt_forecast if rule.method == AlertRule.Method.HOLT else alert_rules.linear_forecast
        value = forecast(points, horizon.timestamp())
        by = timezone.localtime(horizon)
        summary = f"{rule.series} is forecast ({rule.method}) at {_fmt(value)} by {by:%Y-%m-%d %H:%M}"
    else:
        raise ValidationError(f"unknown kind of rule {rule.kind!r}")
    return alert_rules.Outcome(
        alert_rules.compare(value, rule.comparison, threshold), value, f"{summary} ({word} {threshold:g}?)"
    )


# --- state ----------------------------------------------------------------------------------------
def _event(alert: Alert, kind: str, message: str = "", actor=None, at: dt.datetime | None = None) -> None:
    AlertEvent.objects.create(alert=alert, kind=kind, message=message[:500], actor=actor, at=at or timezone.now())


def _apply(rule: AlertRule, outcome: alert_rules.Outcome, now: dt.datetime) -> tuple[str, Alert] | None:
    """Moves the rule's alert along pending -> firing -> resolved; returns what to notify of."""
    fingerprint = f"rule:{rule.pk}"
    alert = Alert.objects.select_for_update().filter(fingerprint=fingerprint, state__in=Alert.OPEN).first()
    # The kind is the rule's name: the message says what it saw.
    message = outcome.summary[:500]
    if outcome.active:
        if alert is None:
            alert = Alert.objects.create(
                rule=rule,
                kind=rule.name[:64],
                severity=rule.severity,
                message=message,
                fingerprint=fingerprint,
                group=rule.group or rule.name,
                state=Alert.State.PENDING,
                value=outcome.value,
                created_at=now,
                details={"rule_kind": rule.kind},
            )
            _event(alert, AlertEvent.Kind.PENDING, outcome.summary, at=now)
        else:
            alert.message, alert.value = message, outcome.value
            alert.save(update_fields=["message", "value"])
        if alert.state == Alert.State.PENDING and now - alert.created_at >= dt.timedelta(seconds=rule.pending_seconds):
            alert.state, alert.fired_at = Alert.State.FIRING, now
            alert.save(update_fields=["state", "fired_at"])
            _event(alert, AlertEvent.Kind.FIRED, outcome.summary, at=now)
            log.warning("alert_fired", rule=rule.name, alert_id=alert.pk, value=outcome.value)
            return "firing", alert
        return None
    if alert is None:
        return None
    was_firing = alert.state == Alert.State.FIRING
    alert.state, alert.resolved_at, alert.value = Alert.State.RESOLVED, now, outcome.value
    alert.save(update_fields=["state", "resolved_at", "value"])
    _event(alert, AlertEvent.Kind.RESOLVED if was_firing else AlertEvent.Kind.CLEARED, outcome.summary, at=now)
    if was_firing:
        log.info("alert_resolved", rule=rule.name, alert_id=alert.pk)
        return "resolved", alert
    return None


def rules_evaluate(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Evaluates every enabled rule once; a rule that fails is logged and the others go on."""
    now = now or timezone.now()
    changes: list[tuple[str, Alert]] = []
    failed = 0
    for rule in AlertRule.objects.filter(enabled=True).select_related("slo"):
        try:
            with transaction.atomic():
                outcome = rule_evaluate(rule, now)
                rule.last_value, rule.last_evaluated_at = outcome.value, now
                rule.save(update_fields=["last_value", "last_evaluated_at"])
                change = _apply(rule, outcome, now)
        except (IntegrityError, ValidationError, ValueError, ArithmeticError):
            failed += 1
            log.exception("alert_rule_failed", rule=rule.name)
            continue
        if change:
            changes.append(change)
    queued = notifications_queue(changes, now=now)
    return {
        "fired": sum(s == "firing" for s, _ in changes),
        "resolved": sum(s == "resolved" for s, _ in changes),
        "failed": failed,
        "notifications": queued,
    }


# --- notifications --------------------------------------------------------------------------------
def active_silences(now: dt.datetime) -> list[Silence]:
    return list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))


def _channels_for(alert: Alert) -> list[NotificationChannel]:
    if alert.rule_id is None:
        return list(NotificationChannel.objects.filter(enabled=True, for_unruled_alerts=True))
    return list(alert.rule.channels.filter(enabled=True))


def notifications_queue(changes: list[tuple[str, Alert]], *, now: dt.datetime | None = None) -> int:
    """One notification per channel, group and status for the alerts that changed together.

    Silenced alerts are left out (and the silence is noted in their history).
    """
    now = now or timezone.now()
    silences = active_silences(now)
    grouped: dict[tuple[str, int, str], list[Alert]] = defaultdict(list)
    for status, alert in changes:
        silence = next((s for s in silences if s.matches(alert)), None)
        if silence is not None:
            _event(alert, AlertEvent.Kind.SILENCED, f"{status}: {silence}", at=now)
            continue
        for channel in _channels_for(alert):
            if channel.accepts(alert.severity):
                grouped[(status, channel.pk, alert.group)].append(alert)
    queued = 0
    for (status, channel_id, _group), alerts in grouped.items():
        notification = Notification.objects.create(channel_id=channel_id, status=status, created_at=now)
        notification.alerts.set(alerts)
        transaction.on_commit(lambda pk=notification.pk: _enqueue(pk))
        queued += 1
    return queued


def _enqueue(notification_id: int) -> None:
    try:
        send_notification.delay(notification_id)
    except Exception:
        # The broker is away: the notification stays queued, and evaluation goes on regardless.
        log.exception("alert_notification_not_queued", notification_id=notification_id)


# --- operator actions (each audited) --------------------------------------------------------------
def alert_acknowledge(*, alert: Alert, actor=None, request=None) -> Alert:
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_at, alert.acknowledged_by = timezone.now(), actor
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    _event(alert, AlertEvent.Kind.ACKNOWLEDGED, actor=actor)
    audit.record(
        action="alert_acknowledged",
        actor=actor,
        target=f"alert:{alert.pk}",
        request=request,
        details={"kind": alert.kind},
    )
    return alert


def alert_resolve(*, alert: Alert, actor=None, request=None) -> Alert:
    """Closes the alert by hand; a rule whose condition still holds raises a new one at its next evaluation."""
    if alert.state == Alert.State.RESOLVED:
        return alert
    alert.state, alert.resolved_at, alert.resolved_by = Alert.State.RESOLVED, timezone.now(), actor
    alert.save(update_fields=["state", "resolved_at", "resolved_by"])
    _event(alert, AlertEvent.Kind.RESOLVED, "resolved by hand", actor=actor)
    audit.record(
        action="alert_resolved", actor=actor, target=f"alert:{alert.pk}", request=request, details={"kind": alert.kind}
    )
    return alert


def silence_create(
    *,
    ends_at: dt.datetime,
    comment: str,
    rule: AlertRule | None = None,
    group: str = "",
    kind: str = "",
    starts_at: dt.datetime | None = None,
    actor=None,
    request=None,
) -> Silence:
    silence = Silence(
        rule=rule,
        group=group,
        kind=kind,
        starts_at=starts_at or timezone.now(),
        ends_at=ends_at,
        comment=comment,
        created_by=actor,
    )
    _full_clean(silence)
    silence.save()
    audit.record(
        action="alert_silence_created",
        actor=actor,
        target=f"silence:{silence.pk}",
        request=request,
        details={"rule": rule.name if rule else "", "group": group, "kind": kind, "ends_at": ends_at},
    )
    return silence


def silence_expire(*, silence: Silence, actor=None, request=None) -> Silence:
    now = timezone.now()
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at + dt.timedelta(microseconds=1))
        silence.save(update_fields=["ends_at"])
        audit.record(action="alert_silence_expired", actor=actor, target=f"silence:{silence.pk}", request=request)
    return silence


def line_opt_in_set(*, user, line_user_id: str, enabled: bool = True, actor=None, request=None) -> OperatorLineOptIn:
    if not user.is_staff:
        raise ValidationError("only staff users get alerts on LINE")
    opt_in = OperatorLineOptIn.objects.filter(user=user).first() or OperatorLineOptIn(user=user)
    opt_in.line_user_id, opt_in.enabled = line_user_id, enabled
    _full_clean(opt_in, exclude=["user"])
    opt_in.save()
    audit.record(
        action="alert_line_opt_in_changed",
        actor=actor,
        target=f"user:{user.pk}",
        request=request,
        details={"enabled": enabled},
    )
    return opt_in


def _full_clean(instance, exclude=None) -> None:
    from django.core.exceptions import ValidationError as DjangoValidationError

    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        raise ValidationError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
