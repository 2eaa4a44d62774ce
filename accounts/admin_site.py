from __future__ import annotations

from django.urls import path, reverse
from django_otp.admin import OTPAdminSite

from accounts.forms import OpsLoginForm


class OpsAdminSite(OTPAdminSite):
    """The ops console: the Django admin behind password + TOTP."""

    site_header = "LINE bot ops console"
    site_title = "Ops console"
    index_title = "Operations"
    login_form = OpsLoginForm
    login_template = "accounts/login.html"

    def __init__(self, name="admin"):
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        from django.contrib.admin import ModelAdmin

        from accounts.admin_audit import audited

        super().register(model_or_iterable, audited(admin_class or ModelAdmin), **options)

    def admin_view(self, view, cacheable=False):
        """Every admin view; a refused request leaves an audit entry."""
        from functools import wraps

        from django.core.exceptions import PermissionDenied

        from accounts import audit
        from accounts.models import AuditEvent

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

    def get_urls(self):
        from accounts import enrollment

        return [
            path("mfa/enroll/", self.admin_view_unverified(enrollment.enroll), name="mfa_enroll"),
            path("mfa/backup-codes/", self.admin_view(enrollment.backup_codes), name="mfa_backup_codes"),
            *super().get_urls(),
        ]

    def admin_view_unverified(self, view):
        """Staff who signed in with a password but have no device yet; used only for enrollment."""
        from functools import wraps

        from django.contrib.auth.views import redirect_to_login
        from django.views.decorators.cache import never_cache
        from django.views.decorators.csrf import csrf_protect

        @wraps(view)
        def inner(request, *args, **kwargs):
            user = request.user
            if not (user.is_active and user.is_staff):
                return redirect_to_login(request.get_full_path(), reverse("admin:login", current_app=self.name))
            return view(request, *args, site=self, **kwargs)

        return never_cache(csrf_protect(inner))
