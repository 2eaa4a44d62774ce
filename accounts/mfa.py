"""TOTP enrollment, backup codes and device resets (services)."""

from __future__ import annotations

import io
import math
import re

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.models import AuditEvent, User

TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"


class EnrollmentError(Exception):
    pass


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def verify_refusal(device) -> str | None:
    """Why django-otp will not check a code for ``device`` right now, or None when it will.

    After wrong codes django-otp refuses every code, the right one included, for a doubling
    delay; the user is told how long to wait rather than that the code is wrong.
    """
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    data = data or {}
    locked_until = data.get("locked_until")
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
        unit = "second" if seconds == 1 else "seconds"
        return f"Too many wrong codes. Wait {seconds} {unit}, then enter the current code."
    return data.get("error_message") or "Codes cannot be checked right now. Wait a moment and try again."


def qr_svg(data: str) -> str:
    """An inline SVG QR code: no image request and no script on the page."""
    # Imported here: only the enrollment page draws a QR code.
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    # Drop the XML prolog so the markup can be embedded in HTML, and draw it large enough to scan.
    svg = svg[svg.index("<svg") :]
    return re.sub(r'width="[^"]+" height="[^"]+"', 'width="240" height="240"', svg, count=1)


def totp_device_start(*, user: User) -> TOTPDevice:
    """A fresh, unconfirmed device; any earlier unconfirmed one (and its secret) is discarded."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def _sessions_end_others(*, user: User, request=None) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    if request is not None and getattr(request, "user", None) is not None and request.user.pk == user.pk:
        request.user.session_generation = user.session_generation
        update_session_auth_hash(request, request.user)


def _backup_codes_issue(*, user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def totp_device_confirm(*, user: User, token: str, request=None) -> list[str]:
    """Confirms the pending device with a code from it; returns the new backup codes (shown once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise EnrollmentError("There is no pending enrollment; start again.")
    token = token.strip()
    refusal = verify_refusal(device)
    if refusal is not None:
        audit.record(
            action=AuditEvent.Action.OTP_FAILED,
            actor=user,
            target=f"user:{user.username}",
            details={"stage": "enrollment", "reason": "throttled"},
            request=request,
        )
        raise EnrollmentError(refusal)
    if not token.isdigit() or not device.verify_token(token):
        audit.record(
            action=AuditEvent.Action.OTP_FAILED,
            actor=user,
            target=f"user:{user.username}",
            details={"stage": "enrollment"},
            request=request,
        )
        raise EnrollmentError("That code is not valid. Check the time on your device and try again.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _backup_codes_issue(user=user)
        _sessions_end_others(user=user, request=request)
        audit.record(
            action=AuditEvent.Action.DEVICE_ENROLLED,
            actor=user,
            target=f"user:{user.username}",
            details={"device": device.persistent_id},
            request=request,
        )
    if request is not None:
        otp_login(request, device)
    return codes


@transaction.atomic
def backup_codes_regenerate(*, user: User, request=None) -> list[str]:
    codes = _backup_codes_issue(user=user)
    audit.record(
        action=AuditEvent.Action.BACKUP_CODES_REGENERATED, actor=user, target=f"user:{user.username}", request=request
    )
    return codes


@transaction.atomic
def mfa_device_reset(*, user: User, actor: User, request=None) -> None:
    """Removes every device of ``user`` and ends their sessions; they enroll again at next login."""
    removed = TOTPDevice.objects.filter(user=user).count() + StaticDevice.objects.filter(user=user).count()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _sessions_end_others(user=user, request=request if actor.pk == user.pk else None)
    audit.record(
        action=AuditEvent.Action.DEVICE_RESET,
        actor=actor,
        target=f"user:{user.username}",
        details={"devices_removed": removed},
        request=request,
    )
