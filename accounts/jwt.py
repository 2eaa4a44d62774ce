"""JWT serializers: a TOTP code for staff on obtain, and refresh-token reuse detection."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import audit, detection, mfa
from accounts.models import AuditEvent


class OTPTokenObtainPairSerializer(TokenObtainPairSerializer):
    otp = serializers.CharField(required=False, allow_blank=True, max_length=6, write_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No account has a longer username; a longer one is refused here rather than by the database, where the
        # failed sign-in is recorded (django-axes keeps at most 255 characters of it).
        longest = get_user_model()._meta.get_field(self.username_field).max_length
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=longest)

    def validate(self, attrs):
        request = self.context.get("request")
        # django-axes marks a lockout on the request it is given; the Django request
        # (not DRF's wrapper) is the one its middleware looks at.
        self.context["request"] = getattr(request, "_request", request)
        data = super().validate(attrs)
        user = self.user
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if user.is_staff or device is not None:
            token = (attrs.get("otp") or "").strip()
            if device is None:
                raise exceptions.AuthenticationFailed(
                    "Set up two-factor authentication in the ops console first.", code="mfa_enrollment_required"
                )
            if not token:
                raise exceptions.AuthenticationFailed("A TOTP code is required.", code="otp_required")
            refusal = mfa.verify_refusal(device)
            if refusal is not None or not token.isdigit() or not device.verify_token(token):
                audit.record(
                    action=AuditEvent.Action.OTP_FAILED,
                    actor=user,
                    target=f"user:{user.username}",
                    details={"stage": "jwt", "throttled": refusal is not None},
                    request=request,
                )
                # Counted by django-axes and the detector like a wrong password.
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.get_username(), "reason": "otp"}, request=request
                )
                if refusal is not None:
                    raise exceptions.AuthenticationFailed(refusal, code="otp_throttled")
                raise exceptions.AuthenticationFailed("The TOTP code is not valid.", code="otp_invalid")
        if user.must_change_password:
            raise exceptions.AuthenticationFailed(
                "Choose your own password in the ops console first.", code="password_change_required"
            )
        audit.record(action=AuditEvent.Action.JWT_OBTAINED, actor=user, target=f"user:{user.username}", request=request)
        detection.staff_login_seen(user=user, ip_address=audit.client_ip(request), request=request)
        return data


class AuditedTokenRefreshSerializer(TokenRefreshSerializer):
    """Rotates refresh tokens; a refresh token presented after it was rotated means it was copied."""

    def validate(self, attrs):
        try:
            with transaction.atomic():
                return super().validate(attrs)
        except TokenError:
            self._detect_reuse(attrs["refresh"])
            raise

    def _detect_reuse(self, raw: str) -> None:
        try:
            payload = token_backend.decode(raw, verify=True)
        except (TokenBackendError, TokenError):
            return  # forged, expired or malformed: an ordinary invalid token
        jti = payload.get(api_settings.JTI_CLAIM)
        if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or not jti:
            return
        if not BlacklistedToken.objects.filter(token__jti=jti).exists():
            return
        user_id = payload.get(api_settings.USER_ID_CLAIM)
        # The thief or the owner holds the current token of this family; end them all.
        revoked = 0
        for outstanding in OutstandingToken.objects.filter(user_id=user_id, blacklistedtoken__isnull=True):
            BlacklistedToken.objects.get_or_create(token=outstanding)
            revoked += 1
        detection.refresh_token_reused(user_id=user_id, jti=jti, revoked=revoked, request=self.context.get("request"))
