"""Errors and alerts on erasure: a LINE user id caught in an error message or alert loses its owner.

Registered with :mod:`core.personal_data` from ``MonitoringConfig.ready``.
"""

from __future__ import annotations

from core import personal_data
from monitoring.models import Alert, ErrorKind


def erase(subject: personal_data.Subject) -> dict[str, int]:
    needle, replacement = subject.line_user_id, subject.replacement
    return {
        "errors_redacted": personal_data.redact(
            ErrorKind.objects.all(), ["message", "traceback", "location"], needle, replacement
        ),
        "alerts_redacted": personal_data.redact(Alert.objects.all(), ["message", "details"], needle, replacement),
    }


def register() -> None:
    personal_data.register(personal_data.Provider("monitoring", export=lambda subject: {}, erase=erase, order=95))
