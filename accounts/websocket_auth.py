"""Who is behind a websocket, by the ops console's rules.

A websocket never passes Django's middleware, so the rules that ``SessionTimeoutMiddleware``,
``OTPMiddleware`` and ``VerifiedSessionAuthentication`` apply to requests are applied here to a
session key: the session exists and its hash still matches the user (a password or MFA device
change ends it), the user is active, the session is within its idle and absolute lifetimes, and it
passed the second factor with a confirmed device of that user.  Consumers call this on connect and
again whenever they re-check.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib import auth
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts.sessions import LAST_SEEN, STARTED_AT, expired_reason


@dataclass(frozen=True)
class SessionCheck:
    user: object | None
    # Why there is no user: "signed_out", "expired" or "not_verified"; empty when there is one.
    reason: str = ""
    # When the session times out (epoch seconds) unless the user is seen again over HTTP.
    expires_at: float | None = None


# Close codes of the ops console's sockets.
UNAUTHENTICATED = 4401
FORBIDDEN = 4403
NOT_FOUND = 4404


def user_group(user_id: int) -> str:
    """The group every ops-console socket of a user joins, to hear that its rights may have changed."""
    return f"dashboard-user.{user_id}"


def session_hash(session_key: str | None) -> str:
    """Names a session in messages without putting its key on the wire."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def _expires_at(session) -> float | None:
    limits = []
    if session.get(STARTED_AT) is not None:
        limits.append(session[STARTED_AT] + settings.SESSION_ABSOLUTE_TIMEOUT)
    if session.get(LAST_SEEN) is not None:
        limits.append(session[LAST_SEEN] + settings.SESSION_IDLE_TIMEOUT)
    return min(limits) if limits else None


def _verified(session, user) -> bool:
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def verified_session(session_key: str | None) -> SessionCheck:
    """The user of a session that passed MFA and has not timed out (synchronous: it reads the database)."""
    if not session_key:
        return SessionCheck(None, "signed_out")
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(SimpleNamespace(session=session))
    if not user.is_authenticated:
        return SessionCheck(None, "signed_out")
    if expired_reason(session, time.time()):
        return SessionCheck(None, "expired")
    if not _verified(session, user):
        return SessionCheck(None, "not_verified")
    return SessionCheck(user, "", _expires_at(session))


def ended_sessions(session_keys) -> set[str]:
    """Which of these sessions are gone, expired or timed out: one query for all of them on the
    database backend, so that a server with a thousand open sockets checks them every few seconds."""
    keys = set(session_keys)
    if not keys:
        return set()
    engine = import_module(settings.SESSION_ENGINE)
    now = time.time()
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session
        from django.utils import timezone

        decoder = engine.SessionStore()
        alive = {
            key
            for key, data in Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
                "session_key", "session_data"
            )
            if not expired_reason(decoder.decode(data), now)
        }
    else:
        alive = set()
        for key in keys:
            session = engine.SessionStore(key)
            if session.exists(key) and not expired_reason(session, now):
                alive.add(key)
    return keys - alive
