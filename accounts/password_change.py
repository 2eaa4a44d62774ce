"""Holds a user with a one-time password on the ops console's password change page until they chose their own."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from accounts.models import User

# Pages a user who must change their password may still open: the change itself, the
# MFA enrollment that comes first, and the way out.
_ALLOWED = ("admin:password_change", "admin:password_change_done", "admin:mfa_enroll", "admin:login", "admin:logout")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            try:
                admin_root = reverse("admin:index")
                allowed = {reverse(name) for name in _ALLOWED}
            except NoReverseMatch:  # a URLconf without the admin (some tests use one)
                return self.get_response(request)
            if request.path.startswith(admin_root) and request.path not in allowed:
                return redirect("admin:password_change")
        return self.get_response(request)


def password_changed_by_user(*, user: User) -> bool:
    """Records that the user chose their own password; returns whether one had been required."""
    if not user.must_change_password:
        return False
    User.objects.filter(pk=user.pk).update(must_change_password=False)
    user.must_change_password = False
    return True
