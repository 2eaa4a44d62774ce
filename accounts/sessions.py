"""Idle and absolute session lifetimes for signed-in users."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect

from accounts import audit
from accounts.models import AuditEvent

STARTED_AT = "_session_started_at"
LAST_SEEN = "_session_last_seen"
# Writing the last-seen time on every request would save the session every
# time; once a minute is enough precision for a 30-minute idle timeout.
_TOUCH_INTERVAL = 60


def expired_reason(session, now: float) -> str | None:
    started = session.get(STARTED_AT)
    last_seen = session.get(LAST_SEEN)
    if started is not None and now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
        return "absolute"
    if last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            reason = expired_reason(request.session, now)
            if reason:
                audit.record(
                    action=AuditEvent.Action.SESSION_EXPIRED, actor=user, details={"reason": reason}, request=request
                )
                logout(request)
                if request.path.startswith("/admin/"):
                    return redirect(f"/admin/login/?next={request.path}")
            else:
                request.session.setdefault(STARTED_AT, now)
                if now - request.session.get(LAST_SEEN, 0) >= _TOUCH_INTERVAL:
                    request.session[LAST_SEEN] = now
        return self.get_response(request)
