"""Suspicious-activity detection: each finding raises an alert and writes an audit entry.

Failure counts live in Redis (``core.redis``) with a TTL equal to the window,
so a burst is "N failures within the window" and the counter resets by itself.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, KnownLoginAddress
from core.redis import get_redis

# Sent for every finding with ``kind``, ``severity``, ``message`` and ``details``; the monitoring app
# raises an alert from it.
suspicious_activity_found = Signal()


def _key(*parts: str) -> str:
    # The prefix lets parallel test runs sharing one Redis keep their counts apart.
    return ":".join([getattr(settings, "SECURITY_REDIS_PREFIX", "security"), "failures", *parts])


def _finding(*, kind: str, severity: str, message: str, details: dict, actor=None, target: str = "", request=None):
    suspicious_activity_found.send(sender=_finding, kind=kind, severity=severity, message=message, details=details)
    audit.record(
        action=AuditEvent.Action.SUSPICIOUS_ACTIVITY,
        actor=actor,
        target=target,
        details={"kind": kind, **details},
        request=request,
    )


def login_failure_seen(*, username: str, request=None) -> None:
    """Counts a failure; alerts once when one account, or all accounts together, cross the threshold."""
    redis = get_redis()
    window = settings.SECURITY_FAILURE_WINDOW_SECONDS
    username = (username or "")[:150]
    account_count = redis.incr(_key("account", username.lower()), ttl=window)
    if account_count == settings.SECURITY_ACCOUNT_FAILURE_THRESHOLD:
        _finding(
            kind="login_failure_burst_account",
            severity="warning",
            message=f"{account_count} failed sign-ins for {username!r} within {window} s",
            details={"username": username, "failures": account_count, "window_seconds": window},
            target=f"user:{username}",
            request=request,
        )
    global_count = redis.incr(_key("all"), ttl=window)
    if global_count == settings.SECURITY_GLOBAL_FAILURE_THRESHOLD:
        _finding(
            kind="login_failure_burst_global",
            severity="critical",
            message=f"{global_count} failed sign-ins across accounts within {window} s",
            details={"failures": global_count, "window_seconds": window},
            request=request,
        )


def staff_login_seen(*, user, ip_address: str | None, request=None) -> bool:
    """Remembers the address; returns True (and alerts) for a staff login from an address never seen before."""
    if not ip_address:
        return False
    now = timezone.now()
    updated = KnownLoginAddress.objects.filter(user=user, ip_address=ip_address).update(last_seen_at=now)
    if updated:
        return False
    first_ever = not KnownLoginAddress.objects.filter(user=user).exists()
    try:
        with transaction.atomic():
            KnownLoginAddress.objects.create(user=user, ip_address=ip_address, first_seen_at=now, last_seen_at=now)
    except IntegrityError:
        return False  # a concurrent login recorded it first
    if first_ever or not user.is_staff:
        # The very first login has nothing to compare with.
        return False
    _finding(
        kind="staff_login_new_ip",
        severity="warning",
        message=f"Staff user {user.username!r} signed in from a new address {ip_address}",
        details={"username": user.username, "ip_address": ip_address},
        actor=user,
        target=f"user:{user.username}",
        request=request,
    )
    return True


def refresh_token_reused(*, user_id, jti: str, revoked: int, request=None) -> None:
    user = get_user_model().objects.filter(pk=user_id).first()
    audit.record(
        action=AuditEvent.Action.JWT_REFRESH_REUSE,
        actor=user,
        target=f"jwt:{jti}",
        details={"revoked_tokens": revoked},
        request=request,
    )
    _finding(
        kind="jwt_refresh_reuse",
        severity="critical",
        message=f"A rotated refresh token was presented again for user id {user_id}; all its tokens were revoked",
        details={"user_id": user_id, "jti": jti, "revoked_tokens": revoked},
        actor=user,
        target=f"jwt:{jti}",
        request=request,
    )
