"""Sending one notification: e-mail (Django's mail), a Slack-compatible webhook, LINE push to operators who
opted in (through ``core.line`` only).  Called by ``monitoring.tasks.send_notification``, which retries."""

from __future__ import annotations

import smtplib
import uuid

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core.errors import LineApiError
from core.lazy import LazyModule
from core.line.client import get_line_client
from core.logging import get_logger
from monitoring.models import Alert, AlertEvent, Notification, NotificationChannel, OperatorLineOptIn

# Loaded when a webhook is first notified, not by every command that imports the admin.
httpx2 = LazyModule("httpx2")

log = get_logger(__name__)

WEBHOOK_TIMEOUT = 5.0
LINE_TEXT_MAX = 5000
_COLOURS = {"critical": "#d93025", "warning": "#f9ab00", "info": "#1a73e8", "resolved": "#188038"}
_RETRY_KEYS = uuid.UUID("6a1f3c1e-8c51-4d39-9a55-3b0f5e7d2c11")


class NotificationError(Exception):
    """A channel did not take the notification; the task retries."""


def _alert_url(alert: Alert) -> str:
    try:
        return reverse("admin:monitoring_alert_change", args=[alert.pk])
    except NoReverseMatch:
        return ""


def summary(notification: Notification) -> tuple[str, list[Alert]]:
    alerts = list(notification.alerts.order_by("id"))
    worst = max((a.severity for a in alerts), key=lambda s: {"info": 0, "warning": 1, "critical": 2}[s])
    group = alerts[0].group or alerts[0].kind if alerts else ""
    word = "RESOLVED" if notification.status == "resolved" else f"FIRING ({worst})"
    return f"[{word}] {group}: {len(alerts)} alert(s)", alerts


def webhook_payload(notification: Notification) -> dict:
    """Slack's incoming-webhook shape (``text`` and ``attachments``), plus the alerts as data for other receivers."""
    title, alerts = summary(notification)
    colour = _COLOURS["resolved"] if notification.status == "resolved" else None
    return {
        "text": title,
        "status": notification.status,
        "attachments": [
            {
                "color": colour or _COLOURS.get(alert.severity, "#888888"),
                "title": alert.kind,
                "text": alert.message,
                "fields": [
                    {"title": "Severity", "value": alert.severity, "short": True},
                    {"title": "State", "value": alert.state, "short": True},
                ],
                "ts": int((alert.fired_at or alert.created_at).timestamp()),
            }
            for alert in alerts
        ],
        "alerts": [
            {
                "id": alert.pk,
                "kind": alert.kind,
                "group": alert.group,
                "severity": alert.severity,
                "state": alert.state,
                "message": alert.message,
                "value": alert.value,
                "fired_at": alert.fired_at.isoformat() if alert.fired_at else None,
                "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
                "url": _alert_url(alert),
            }
            for alert in alerts
        ],
    }


def _text(notification: Notification) -> str:
    title, alerts = summary(notification)
    return "\n".join([title, *(f"- [{a.severity}] {a.message}" for a in alerts)])


def _send_email(channel: NotificationChannel, notification: Notification) -> None:
    recipients = [address.strip() for address in channel.target.split(",") if address.strip()]
    subject, _ = summary(notification)
    try:
        send_mail(subject, _text(notification), settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise NotificationError(f"mail: {exc}") from exc


def _send_webhook(channel: NotificationChannel, notification: Notification) -> None:
    try:
        response = httpx2.post(channel.target, json=webhook_payload(notification), timeout=WEBHOOK_TIMEOUT)
    except httpx2.HTTPError as exc:
        raise NotificationError(f"webhook: {type(exc).__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise NotificationError(f"webhook answered {response.status_code}")


def _send_line(channel: NotificationChannel, notification: Notification) -> None:
    opted_in = OperatorLineOptIn.objects.filter(enabled=True, user__is_active=True, user__is_staff=True)
    text = _text(notification)[:LINE_TEXT_MAX]
    failures = []
    for opt_in in opted_in:
        # The same key on every attempt: LINE sends a retried push once.
        key = uuid.uuid5(_RETRY_KEYS, f"{notification.pk}:{opt_in.line_user_id}")
        try:
            get_line_client().push(opt_in.line_user_id, [{"type": "text", "text": text}], retry_key=key)
        except LineApiError as exc:
            failures.append(f"{opt_in.user_id}: {exc.status}")
    if failures:
        raise NotificationError("LINE push failed for " + ", ".join(failures))


_SENDERS = {
    NotificationChannel.Kind.EMAIL: _send_email,
    NotificationChannel.Kind.WEBHOOK: _send_webhook,
    NotificationChannel.Kind.LINE: _send_line,
}


def notification_send(*, notification_id: int, final_attempt: bool) -> bool:
    """Sends it unless already sent; returns whether it went out. Raises NotificationError to be retried."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().select_related("channel").get(pk=notification_id)
        if notification.state != Notification.State.QUEUED:
            return notification.state == Notification.State.SENT
        notification.attempts += 1
        notification.save(update_fields=["attempts"])
    try:
        _SENDERS[notification.channel.kind](notification.channel, notification)
    except NotificationError as exc:
        notification.last_error = str(exc)[:1000]
        fields = ["last_error"]
        if final_attempt:
            notification.state = Notification.State.FAILED
            fields.append("state")
            for alert in notification.alerts.all():
                AlertEvent.objects.create(
                    alert=alert, kind=AlertEvent.Kind.NOTIFICATION_FAILED, message=f"{notification.channel}: {exc}"
                )
        notification.save(update_fields=fields)
        log.warning(
            "alert_notification_failed", notification_id=notification.pk, attempt=notification.attempts, error=str(exc)
        )
        raise
    notification.state, notification.sent_at = Notification.State.SENT, timezone.now()
    notification.save(update_fields=["state", "sent_at"])
    for alert in notification.alerts.all():
        AlertEvent.objects.create(
            alert=alert, kind=AlertEvent.Kind.NOTIFIED, message=f"{notification.status} to {notification.channel}"
        )
    return True


NOTIFY_RETRIES = 6


# Defined here rather than in tasks.py so that evaluation (monitoring.alert_services) can queue it
# without an import cycle; its name is the one beat and the workers know.
@shared_task(bind=True, max_retries=NOTIFY_RETRIES, name="monitoring.tasks.send_notification")
def send_notification(self, notification_id: int) -> bool:
    final = self.request.retries >= self.max_retries
    try:
        return notification_send(notification_id=notification_id, final_attempt=final)
    except NotificationError as exc:
        if final:
            return False
        # 15 s, 30 s, 1 min, ... at most 10 minutes apart.
        raise self.retry(exc=exc, countdown=min(15 * 2**self.request.retries, 600)) from exc
