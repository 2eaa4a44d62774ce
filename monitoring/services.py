from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core.errors import ValidationError
from core.logging import get_logger
from monitoring.models import Alert

log = get_logger(__name__)


def alert_raise(*, kind: str, severity: str, message: str, details: dict | None = None) -> Alert:
    if severity not in Alert.Severity.values:
        raise ValidationError(
            f"unknown alert severity {severity!r}; expected one of {', '.join(Alert.Severity.values)}"
        )
    if not kind:
        raise ValidationError("an alert needs a kind")
    alert = Alert.objects.create(
        kind=kind[:64],
        severity=severity,
        message=message[:500],
        details=json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder, default=str)),
    )
    log.warning("alert_raised", kind=alert.kind, severity=severity, alert_id=alert.pk)
    return alert


def alert_acknowledge(*, alert: Alert) -> Alert:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_at"])
    return alert
