"""The one way to write the audit log.

IP address, user agent and correlation id come from the request (and the
current correlation context), so callers pass only what happened.
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError

from core import correlation
from core.client_ip import resolve as client_ip_resolve
from core.logging import get_logger

log = get_logger(__name__)

_UA_MAX = 512


def client_ip(request) -> str | None:
    if request is None:
        return None
    # django-axes resolved it already on sign-in requests.
    return getattr(request, "axes_ip_address", None) or client_ip_resolve(request)


def _json_safe(details: dict[str, Any] | None) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder, default=str))


def record(*, action: str, actor=None, target: str = "", details: dict | None = None, request=None):
    from accounts.models import AuditEvent

    # A DRF Request would authenticate again on ``.user``; the Django request underneath never does.
    request = getattr(request, "_request", request)
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not getattr(actor, "pk", None):
        actor = None
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:_UA_MAX] if request is not None else ""
    correlation_id = correlation.current() or (getattr(request, "correlation_id", "") if request is not None else "")
    event = AuditEvent(
        action=action,
        actor=actor,
        actor_username=getattr(actor, "username", "") if actor is not None else "",
        target=str(target)[:255],
        ip_address=client_ip(request),
        user_agent=user_agent,
        correlation_id=correlation_id or "",
        details=_json_safe(details),
    )
    try:
        event.save()
    except DatabaseError:
        log.error("audit_write_failed", action=action, target=str(target)[:255])
        raise
    log.info("audit", action=action, actor=event.actor_username, target=event.target)
    return event
