from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp.admin import OTPAdminSite

from accounts import audit, enrollment, password_change, roles
from accounts.admin_audit import audited
from accounts.forms import OpsLoginForm
from accounts.models import AuditEvent

# Apps whose admin pages show a library's own bookkeeping (sign-in attempts, JWT blacklist,
# Celery beat tables, MFA devices): Administrators only, whatever permissions others hold.
INTERNAL_APP_LABELS = frozenset({"axes", "token_blacklist", "django_celery_beat", "otp_totp", "otp_static"})


class AdministratorsOnlyMixin:
    """Hides a ModelAdmin from everyone but Administrators: not in the index, its URLs refused."""

    def has_module_permission(self, request):
        return roles.is_administrator(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return roles.is_administrator(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args, **kwargs):
        return roles.is_administrator(request.user) and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request, obj=None):
        return roles.is_administrator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return roles.is_administrator(request.user) and super().has_delete_permission(request, obj)


def administrators_only(admin_class: type) -> type:
    if issubclass(admin_class, AdministratorsOnlyMixin):
        return admin_class
    return type(admin_class.__name__, (AdministratorsOnlyMixin, admin_class), {"__module__": admin_class.__module__})


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
        admin_class = audited(admin_class or ModelAdmin)
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        for model in models:
            model_admin = admin_class
            if model._meta.app_label in INTERNAL_APP_LABELS:
                model_admin = administrators_only(admin_class)
            super().register(model, model_admin, **options)

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
        if request.method == "GET" and getattr(request.user, "must_change_password", False):
            messages.warning(request, "You signed in with a one-time password. Choose your own password to continue.")
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:
            details = {"by": "self"}
            if password_change.password_changed_by_user(user=request.user):
                details["replaced_one_time_password"] = True
            audit.record(
                action=AuditEvent.Action.PASSWORD_CHANGED,
                actor=request.user,
                target=f"user:{request.user.get_username()}",
                details=details,
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
