from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit, mfa
from accounts.models import AuditEvent


class OpsLoginForm(AdminAuthenticationForm):
    """Password plus a TOTP code (or a backup code) for every user that has enrolled a device.

    A staff user without a device gets in with the password alone and is then
    held on the enrollment page until a device is confirmed.
    """

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": "Enter the code from your authenticator app (or a backup code).",
        "otp_invalid": "That authentication code is not valid.",
    }

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if totp is None:
            user.otp_device = None
            return cleaned
        token = (cleaned.get("otp_token") or "").strip().replace(" ", "")
        if not token:
            raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
        # Six digits go to the authenticator, anything else to the backup codes, so a
        # wrong code never counts against (and throttles) the other device.
        device = totp if token.isdigit() and len(token) == 6 else StaticDevice.objects.filter(user=user).first()
        if device is None:
            self._otp_failed(user, "no_backup_codes")
        refusal = mfa.verify_refusal(device)
        if refusal is not None:
            self._otp_failed(user, "throttled", code="otp_throttled", message=refusal)
        if not device.verify_token(token):
            self._otp_failed(user, "invalid")
        user.otp_device = device
        if isinstance(device, StaticDevice):
            audit.record(
                action=AuditEvent.Action.BACKUP_CODE_USED,
                actor=user,
                request=self.request,
                details={"remaining": device.token_set.count()},
            )
        return cleaned

    def _otp_failed(self, user, reason: str, *, code: str = "otp_invalid", message: str | None = None):
        audit.record(
            action=AuditEvent.Action.OTP_FAILED,
            actor=user,
            target=f"user:{user.username}",
            details={"stage": "login", "reason": reason},
            request=self.request,
        )
        # Counted by django-axes like a wrong password, so guessing codes ends in a lockout too.
        user_login_failed.send(
            sender=__name__,
            credentials={"username": user.get_username(), "reason": "otp"},
            request=self.request,
        )
        self.user_cache = None
        raise forms.ValidationError(message or self.error_messages[code], code=code)


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError("The code is six digits.")
        return token
