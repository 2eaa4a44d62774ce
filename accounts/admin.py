from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import api_keys, audit, mfa, roles
from accounts.models import ApiKey, AuditEvent, User
from core.large_table_admin import LargeTableAdmin
from core.readonly_admin import ReadOnlyAdmin

# Devices change only through enrollment and the audited reset action, which
# also end the user's sessions; editing them directly would bypass both.
for _model in (TOTPDevice, StaticDevice):
    try:
        admin.site.unregister(_model)
    except NotRegistered:
        pass


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "role_list", "has_mfa", "last_login"]
    list_filter = ["is_staff", "is_active", "groups"]
    actions = ["reset_mfa_device"]
    fieldsets = [*UserAdmin.fieldsets, ("Sign-in", {"fields": ["must_change_password"]})]

    @admin.display(description="roles")
    def role_list(self, obj):
        return ", ".join(roles.user_roles(obj)) or "-"

    @admin.display(description="MFA", boolean=True)
    def has_mfa(self, obj):
        return mfa.has_confirmed_device(obj)

    def has_reset_mfa_permission(self, request):
        return roles.is_administrator(request.user)

    @admin.action(description="Reset MFA device (user enrolls again at next login)", permissions=["reset_mfa"])
    def reset_mfa_device(self, request, queryset):
        for user in queryset:
            mfa.mfa_device_reset(user=user, actor=request.user, request=request)
        self.message_user(request, f"MFA reset for {queryset.count()} user(s); their sessions were ended.")

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            audit.record(
                action=AuditEvent.Action.PASSWORD_CHANGED,
                actor=request.user,
                target=f"user:{user.username}",
                details={"by": "administrator"},
                request=request,
            )
        return response


def _csv_safe(value) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ would make a spreadsheet run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


class _StaffFilter(admin.SimpleListFilter):
    """The staff accounts there are, where a filter over the log's own values would read every row of it."""

    title = "actor"
    parameter_name = "actor_username"

    def lookups(self, request, model_admin):
        names = User.objects.filter(is_staff=True).order_by("username").values_list("username", flat=True)
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(actor_username=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Every 401 and 403 of the API is a row: the log grows with attacks, so it is listed as a large table."""

    list_display = ["created_at", "action", "actor_username", "target", "ip_address", "correlation_id"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter), _StaffFilter]
    # A former staff member's entries are found by searching for the name.
    search_fields = ["actor_username", "target", "ip_address", "correlation_id"]
    list_select_related = ["actor"]
    actions = ["export_csv"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.action(description="Export selected events as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        fields = [
            "created_at",
            "action",
            "actor_username",
            "target",
            "ip_address",
            "user_agent",
            "correlation_id",
            "details",
        ]
        audit.record(
            action=AuditEvent.Action.AUDIT_EXPORTED,
            actor=request.user,
            request=request,
            details={"rows": queryset.count()},
        )
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(fields)
            for event in queryset.order_by("created_at", "id").iterator():
                yield writer.writerow([_csv_safe(getattr(event, name)) for name in fields])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=sorted(api_keys.SCOPES.items()), widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = ApiKey
        fields = ["name", "user", "scopes", "expires_at"]

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "scope_list", "status", "expires_at", "last_used_at", "created_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["rotate_keys", "revoke_keys"]
    readonly_fields = [
        "prefix",
        "user",
        "scopes",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "rotated_at",
        "revoked_at",
        "replaced_by",
    ]
    fields = ["name", *readonly_fields]

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("user", "replaced_by")
        return qs if roles.is_administrator(request.user) else qs.filter(user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
            kwargs["fields"] = ApiKeyAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ApiKeyAddForm.Meta.fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        if obj.user_id != request.user.pk and not roles.is_administrator(request.user):
            raise PermissionDenied("Only Administrators may issue keys for other users.")
        issued = api_keys.api_key_create(
            user=obj.user,
            name=obj.name,
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            actor=request.user,
            request=request,
        )
        # The admin's own bookkeeping (log entry, audit, redirect) works on the saved row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued.api_key, field.attname))
        obj._state.adding = False
        obj._issued_keys = [issued]

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_keys_once(request, getattr(obj, "_issued_keys", []), "API key created")

    def _show_keys_once(self, request, issued, title):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "accounts/api_key_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Rotate selected keys (old key keeps working during the overlap)", permissions=["change"])
    def rotate_keys(self, request, queryset):
        issued = []
        for key in queryset:
            if not key.is_usable() or key.replaced_by_id:
                self.message_user(request, f"{key} is not active; skipped.", messages.WARNING)
                continue
            issued.append(api_keys.api_key_rotate(api_key=key, actor=request.user, request=request))
        if issued:
            return self._show_keys_once(request, issued, "API keys rotated")
        return None

    @admin.action(description="Revoke selected keys now", permissions=["change"])
    def revoke_keys(self, request, queryset):
        for key in queryset:
            api_keys.api_key_revoke(api_key=key, actor=request.user, request=request)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")
