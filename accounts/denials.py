"""Audit entries for API requests that were refused (401/403)."""

from __future__ import annotations

from accounts import audit
from accounts.models import AuditEvent
from accounts.permissions import api_key_of
from core.logging import get_logger

log = get_logger(__name__)


def record_denial(*, context: dict, status_code: int, code: str, **kwargs) -> None:
    request = context.get("request")
    view = context.get("view")
    if request is None:
        return
    user = getattr(request, "_user", None) or getattr(getattr(request, "_request", None), "user", None)
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    key = api_key_of(request) if hasattr(request, "_auth") else None
    details = {
        "status": status_code,
        "code": code,
        "method": request.method,
        "path": request.path,
        "view": type(view).__name__ if view is not None else "",
    }
    if key is not None:
        details["api_key"] = key.prefix
    try:
        audit.record(
            action=AuditEvent.Action.PERMISSION_DENIED,
            actor=actor,
            target=request.path[:255],
            details=details,
            request=getattr(request, "_request", request),
        )
    except Exception:
        log.exception("denial_audit_failed", path=request.path)
