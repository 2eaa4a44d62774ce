"""Keeps staff without an MFA device on the enrollment page, and the enrollment views."""

from __future__ import annotations

from base64 import b32encode

from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.forms import TokenForm


def _enrollment_exempt_paths() -> set[str]:
    return {reverse("admin:mfa_enroll"), reverse("admin:logout")}


class EnrollmentRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        try:
            admin_root = reverse("admin:index")
        except NoReverseMatch:  # a URLconf without the admin (some tests use one)
            return self.get_response(request)
        if (
            user is not None
            and request.path.startswith(admin_root)
            and user.is_authenticated
            and user.is_staff
            and not user.is_verified()
            and request.path not in _enrollment_exempt_paths()
            and not mfa.has_confirmed_device(user)
        ):
            return redirect("admin:mfa_enroll")
        return self.get_response(request)


def _render_enrollment(request, site, device: TOTPDevice, form: TokenForm, status: int = 200):
    context = {
        **site.each_context(request),
        "title": "Set up two-factor authentication",
        "qr_svg": mfa.qr_svg(device.config_url),
        "secret": b32encode(device.bin_key).decode().rstrip("="),
        "form": form,
    }
    return render(request, "accounts/enroll.html", context, status=status)


def enroll(request, *, site):
    user = request.user
    if mfa.has_confirmed_device(user) and not user.is_verified():
        # A password alone must never be enough to replace an enrolled device.
        logout(request)
        return redirect("admin:login")
    if request.method == "POST":
        form = TokenForm(request.POST)
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            return redirect("admin:mfa_enroll")
        if form.is_valid():
            try:
                codes = mfa.totp_device_confirm(user=user, token=form.cleaned_data["token"], request=request)
            except mfa.EnrollmentError as exc:
                form.add_error("token", str(exc))
            else:
                context = {**site.each_context(request), "title": "Your backup codes", "codes": codes}
                return render(request, "accounts/backup_codes.html", context)
        return _render_enrollment(request, site, device, form, status=400)
    return _render_enrollment(request, site, mfa.totp_device_start(user=user), TokenForm())


def backup_codes(request):
    from django.contrib import admin

    context = {**admin.site.each_context(request), "title": "Backup codes", "codes": None}
    if request.method == "POST":
        context["codes"] = mfa.backup_codes_regenerate(user=request.user, request=request)
    return render(request, "accounts/backup_codes.html", context)
