"""Audit receivers for authentication events."""

from __future__ import annotations

import time

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts import audit, detection
from accounts.denials import record_denial
from accounts.models import AuditEvent
from accounts.sessions import LAST_SEEN, STARTED_AT
from core.api import api_request_denied
from core.config.services import runtime_setting_changed

api_request_denied.connect(record_denial, dispatch_uid="accounts.audit_api_denial")


@receiver(runtime_setting_changed, dispatch_uid="accounts.audit_runtime_setting")
def _on_runtime_setting_changed(sender, version, definition, actor, request, **kwargs):
    rolls_back_to = version.rolls_back_to
    action = AuditEvent.Action.CONFIG_CHANGED if rolls_back_to is None else AuditEvent.Action.CONFIG_ROLLED_BACK
    details = {
        "key": definition.key,
        "version": version.number,
        "old": version.old_value,
        "new": version.new_value,
        "reason": version.reason,
        "critical": definition.critical,
    }
    if rolls_back_to is not None:
        details["rolled_back_to_version"] = rolls_back_to
    audit.record(
        action=action, actor=actor, target=f"runtime_setting:{definition.key}", details=details, request=request
    )


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[STARTED_AT] = now
        request.session[LAST_SEEN] = now
    device = getattr(user, "otp_device", None)
    audit.record(
        action=AuditEvent.Action.LOGIN,
        actor=user,
        target=f"user:{user.username}",
        details={"mfa": device.persistent_id if device is not None else None},
        request=request,
    )
    detection.staff_login_seen(user=user, ip_address=audit.client_ip(request), request=request)


@receiver(user_logged_out, dispatch_uid="accounts.audit_logout")
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(action=AuditEvent.Action.LOGOUT, actor=user, target=f"user:{user.username}", request=request)


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    if credentials.get("reason") != "otp":
        # OTP failures are written as their own event by the login form.
        audit.record(
            action=AuditEvent.Action.LOGIN_FAILED,
            target=f"user:{username}",
            details={"username": username},
            request=request,
        )
    detection.login_failure_seen(username=username, request=request)


@receiver(user_locked_out, dispatch_uid="accounts.audit_locked_out")
def _on_locked_out(sender, request, username, ip_address, **kwargs):
    audit.record(
        action=AuditEvent.Action.LOCKED_OUT,
        target=f"user:{username}",
        details={"username": username, "ip_address": ip_address},
        request=request,
    )
