"""What happens once a rule's condition holds: pending, firing, dedup, grouping, silences, acknowledge and
resolve, and the notifications with their retries."""

import datetime as dt

import pytest
from django.core import mail

from accounts.models import AuditEvent
from monitoring import alert_services
from monitoring.models import Alert, AlertEvent, AlertRule, Notification, NotificationChannel, Silence
from monitoring.services import alert_raise
from tests.monitoring.alerting import NOW, WebhookReceiver, write_series

pytestmark = pytest.mark.django_db

LATER = NOW + dt.timedelta(minutes=10)


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def hook(receiver):
    return NotificationChannel.objects.create(name="hook", kind="webhook", target=receiver.url, min_severity="info")


def _rule(channel=None, **fields):
    defaults = {
        "name": "queue too deep",
        "kind": "threshold",
        "series": "queue",
        "threshold": 10.0,
        "window_seconds": 120,
        "aggregation": "last",
        "severity": "critical",
    }
    rule = AlertRule.objects.create(**{**defaults, **fields})
    if channel is not None:
        rule.channels.add(channel)
    return rule


def _high(series="queue", until=LATER):
    write_series(series, lambda i: 50.0, minutes=20, end=until)


def _evaluate(at, capture):
    with capture(execute=True):
        return alert_services.rules_evaluate(now=at)


def test_it_waits_out_the_pending_period_before_firing(hook, receiver, django_capture_on_commit_callbacks):
    _high()
    _rule(hook, pending_seconds=120)

    assert _evaluate(NOW, django_capture_on_commit_callbacks)["fired"] == 0
    assert Alert.objects.get().state == Alert.State.PENDING
    _evaluate(NOW + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert Alert.objects.get().state == Alert.State.PENDING
    assert _evaluate(NOW + dt.timedelta(minutes=2), django_capture_on_commit_callbacks)["fired"] == 1

    alert = Alert.objects.get()
    assert alert.state == Alert.State.FIRING
    assert list(alert.events.values_list("kind", flat=True)) == ["pending", "fired", "notified"]
    assert receiver.wait(1)[0]["status"] == "firing"


def test_it_drops_a_pending_alert_whose_condition_cleared_without_notifying(
    hook, receiver, django_capture_on_commit_callbacks
):
    write_series("queue", lambda i: 50.0 if i > 5 else 1.0, minutes=20, end=LATER)
    _rule(hook, pending_seconds=600)

    _evaluate(NOW, django_capture_on_commit_callbacks)
    _evaluate(LATER, django_capture_on_commit_callbacks)

    alert = Alert.objects.get()
    assert alert.state == Alert.State.RESOLVED
    assert list(alert.events.values_list("kind", flat=True)) == ["pending", "cleared"]
    assert not Notification.objects.exists()


def test_it_keeps_one_alert_while_the_condition_lasts(hook, receiver, django_capture_on_commit_callbacks):
    _high()
    _rule(hook)

    for minute in range(4):
        _evaluate(NOW + dt.timedelta(minutes=minute), django_capture_on_commit_callbacks)

    assert Alert.objects.count() == 1
    assert Notification.objects.count() == 1
    assert len(receiver.wait(1)) == 1


def test_it_refuses_a_second_open_alert_with_the_same_fingerprint():
    from django.db import IntegrityError

    Alert.objects.create(kind="k", message="m", fingerprint="rule:1", state=Alert.State.FIRING)
    with pytest.raises(IntegrityError):
        Alert.objects.create(kind="k", message="m", fingerprint="rule:1", state=Alert.State.PENDING)


def test_it_groups_alerts_that_fire_together_into_one_notification(hook, receiver, django_capture_on_commit_callbacks):
    _high("queue")
    _high("backlog")
    _rule(hook, name="queue", group="celery")
    _rule(hook, name="backlog", series="backlog", group="celery")

    _evaluate(NOW, django_capture_on_commit_callbacks)

    notification = Notification.objects.get()
    assert notification.alerts.count() == 2
    payload = receiver.wait(1)[0]
    assert sorted(a["kind"] for a in payload["alerts"]) == ["backlog", "queue"]
    assert payload["text"].startswith("[FIRING (critical)] celery: 2 alert(s)")
    assert payload["attachments"][0]["color"]


def test_it_notifies_when_the_alert_resolves(hook, receiver, django_capture_on_commit_callbacks):
    write_series("queue", lambda i: 50.0 if i > 5 else 1.0, minutes=20, end=LATER)
    _rule(hook)

    _evaluate(NOW, django_capture_on_commit_callbacks)
    _evaluate(LATER, django_capture_on_commit_callbacks)

    assert [p["status"] for p in receiver.wait(2)] == ["firing", "resolved"]
    assert Alert.objects.get().state == Alert.State.RESOLVED


def test_it_mutes_notifications_under_a_silence_but_still_fires_the_alert(
    hook, receiver, django_capture_on_commit_callbacks
):
    _high()
    rule = _rule(hook)
    Silence.objects.create(
        rule=rule, starts_at=NOW - dt.timedelta(hours=1), ends_at=NOW + dt.timedelta(hours=1), comment="maintenance"
    )

    _evaluate(NOW, django_capture_on_commit_callbacks)

    alert = Alert.objects.get()
    assert alert.state == Alert.State.FIRING
    assert alert.events.filter(kind=AlertEvent.Kind.SILENCED).exists()
    assert not Notification.objects.exists()


def test_it_mutes_nothing_under_an_expired_silence(hook, receiver, django_capture_on_commit_callbacks):
    _high()
    rule = _rule(hook)
    Silence.objects.create(
        rule=rule, starts_at=NOW - dt.timedelta(hours=2), ends_at=NOW - dt.timedelta(hours=1), comment="over"
    )

    _evaluate(NOW, django_capture_on_commit_callbacks)

    assert len(receiver.wait(1)) == 1


def test_it_refuses_a_silence_that_matches_nothing(operator):
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="matches a rule"):
        alert_services.silence_create(ends_at=NOW + dt.timedelta(hours=1), comment="?", actor=operator)
    assert not Silence.objects.exists()


def test_it_audits_creating_and_expiring_a_silence(operator):
    silence = alert_services.silence_create(
        group="memory", ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), comment="resize", actor=operator
    )
    alert_services.silence_expire(silence=silence, actor=operator)

    silence.refresh_from_db()
    assert silence.ends_at <= dt.datetime.now(dt.UTC)
    assert list(AuditEvent.objects.filter(actor=operator).values_list("action", flat=True).order_by("id")) == [
        "alert_silence_created",
        "alert_silence_expired",
    ]


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("op", password="x" * 16, is_staff=True)


def test_it_records_and_audits_acknowledging(operator):
    alert = alert_raise(kind="k", severity="warning", message="m")

    alert_services.alert_acknowledge(alert=alert, actor=operator)

    alert.refresh_from_db()
    assert alert.acknowledged_by == operator and alert.acknowledged_at is not None
    assert alert.state == Alert.State.FIRING
    assert alert.events.filter(kind="acknowledged", actor=operator).exists()
    assert AuditEvent.objects.get(action="alert_acknowledged").target == f"alert:{alert.pk}"


def test_it_raises_a_new_alert_for_a_rule_still_true_after_a_manual_resolve(
    operator, django_capture_on_commit_callbacks
):
    _high()
    _rule()
    _evaluate(NOW, django_capture_on_commit_callbacks)
    first = Alert.objects.get()

    alert_services.alert_resolve(alert=first, actor=operator)
    _evaluate(NOW + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)

    first.refresh_from_db()
    assert first.state == Alert.State.RESOLVED and first.resolved_by == operator
    assert AuditEvent.objects.filter(action="alert_resolved", actor=operator).count() == 1
    assert Alert.objects.filter(state=Alert.State.FIRING).exclude(pk=first.pk).count() == 1


# --- notifications --------------------------------------------------------------------------------
@pytest.fixture
def worker_retries():
    """Eager tasks retry at once, as a worker would after each countdown, instead of raising the retry."""
    from linebot_project.celery import app

    original = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = original


def test_it_retries_a_webhook_that_failed(worker_retries, django_capture_on_commit_callbacks):
    with WebhookReceiver(statuses=[500, 503]) as flaky:
        channel = NotificationChannel.objects.create(name="flaky", kind="webhook", target=flaky.url)
        _high()
        _rule(channel)
        _evaluate(NOW, django_capture_on_commit_callbacks)

        assert len(flaky.wait(1)) == 1
    notification = Notification.objects.get()
    assert notification.state == Notification.State.SENT
    assert notification.attempts == 3


def test_it_gives_up_after_every_retry_and_says_so(worker_retries, django_capture_on_commit_callbacks):
    with WebhookReceiver(statuses=[500] * 20) as broken:
        channel = NotificationChannel.objects.create(name="broken", kind="webhook", target=broken.url)
        _high()
        _rule(channel)
        result = _evaluate(NOW, django_capture_on_commit_callbacks)

    assert result["fired"] == 1
    notification = Notification.objects.get()
    assert notification.state == Notification.State.FAILED
    assert notification.attempts == 7
    assert "500" in notification.last_error
    assert Alert.objects.get().events.filter(kind=AlertEvent.Kind.NOTIFICATION_FAILED).exists()


def test_it_sends_an_email(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    channel = NotificationChannel.objects.create(name="mail", kind="email", target="ops@example.test, b@example.test")
    _high()
    _rule(channel)

    _evaluate(NOW, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.test", "b@example.test"]
    assert mail.outbox[0].subject.startswith("[FIRING (critical)]")


def test_it_pushes_to_operators_who_opted_in_on_line(
    line, operator, django_user_model, django_capture_on_commit_callbacks
):
    opted = "U" + "a" * 32
    alert_services.line_opt_in_set(user=operator, line_user_id=opted, actor=operator)
    other = django_user_model.objects.create_user("other", password="x" * 16, is_staff=True)
    alert_services.line_opt_in_set(user=other, line_user_id="U" + "b" * 32, enabled=False, actor=other)
    channel = NotificationChannel.objects.create(name="line", kind="line")
    _high()
    _rule(channel)

    _evaluate(NOW, django_capture_on_commit_callbacks)

    texts = [m["message"]["text"] for m in line.control.messages(user_id=opted)]
    assert len(texts) == 1 and "queue too deep" in texts[0]
    assert not line.control.messages(user_id="U" + "b" * 32)
    assert Notification.objects.get().state == Notification.State.SENT


def test_it_refuses_a_line_opt_in_that_is_no_line_user_id(operator):
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="LINE user id"):
        alert_services.line_opt_in_set(user=operator, line_user_id="not-an-id", actor=operator)


def test_it_notifies_alerts_raised_by_code_to_channels_that_take_them(receiver, django_capture_on_commit_callbacks):
    NotificationChannel.objects.create(name="all", kind="webhook", target=receiver.url, for_unruled_alerts=True)
    NotificationChannel.objects.create(name="rules only", kind="webhook", target=receiver.url + "/other")

    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(kind="login_failure_burst_global", severity="critical", message="many failed sign-ins")

    payloads = receiver.wait(1)
    assert len(payloads) == 1
    assert payloads[0]["alerts"][0]["kind"] == "login_failure_burst_global"


def test_it_skips_alerts_below_a_channels_severity(receiver, django_capture_on_commit_callbacks):
    NotificationChannel.objects.create(
        name="pager", kind="webhook", target=receiver.url, min_severity="critical", for_unruled_alerts=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(kind="k", severity="warning", message="m")
    assert not Notification.objects.exists()


def test_it_sends_a_notification_once_when_sent_twice(hook, receiver, django_capture_on_commit_callbacks):
    from monitoring.notifiers import send_notification

    _high()
    _rule(hook)
    _evaluate(NOW, django_capture_on_commit_callbacks)
    notification = Notification.objects.get()

    assert send_notification.apply(args=[notification.pk]).get() is True

    assert len(receiver.wait(1)) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1
