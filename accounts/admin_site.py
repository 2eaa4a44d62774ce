from __future__ import annotations

from functools import wraps

from django.contrib.admin import ModelAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp.admin import OTPAdminSite

from accounts import audit, enrollment
from accounts.admin_audit import audited
from accounts.forms import OpsLoginForm
from accounts.models import AuditEvent


class OpsAdminSite(OTPAdminSite):
    """The ops console: the Django admin behind password + TOTP.

    Every ModelAdmin registered here is audited (``accounts.admin_audit``) and every
    refused admin request leaves an audit entry.
    """

    site_header = "LINE bot ops console"
    site_title = "Ops console"
    index_title = "Operations"
    login_form = OpsLoginForm
    login_template = "accounts/login.html"
    # The home page is the live operations dashboard (monitoring.dashboards) above the model list.
    index_template = "admin/ops_index.html"

    def __init__(self, name="admin"):
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, audited(admin_class or ModelAdmin), **options)

    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def audited_view(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied:
                audit.record(
                    action=AuditEvent.Action.PERMISSION_DENIED,
                    target=request.path[:255],
                    details={"status": 403, "method": request.method, "path": request.path, "where": "admin"},
                    request=request,
                )
                raise

        return super().admin_view(audited_view, cacheable)

    def password_change(self, request, extra_context=None):
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:
            audit.record(
                action=AuditEvent.Action.PASSWORD_CHANGED,
                actor=request.user,
                target=f"user:{request.user.get_username()}",
                details={"by": "self"},
                request=request,
            )
        return response

    def get_urls(self):
        return [
            path("mfa/enroll/", self._enrollment_view(enrollment.enroll), name="mfa_enroll"),
            path("mfa/backup-codes/", self.admin_view(enrollment.backup_codes), name="mfa_backup_codes"),
            *super().get_urls(),
        ]

    def _enrollment_view(self, view):
        """For staff who signed in with a password but have no device yet; only enrollment uses it."""

        @wraps(view)
        def inner(request, *args, **kwargs):
            user = request.user
            if not (user.is_active and user.is_staff):
                return redirect_to_login(request.get_full_path(), reverse("admin:login", current_app=self.name))
            return view(request, *args, site=self, **kwargs)

        return never_cache(csrf_protect(inner))
