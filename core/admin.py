"""Runtime settings in the ops console: current values, history with diffs, one-step rollback."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from core.config import services
from core.config.models import RuntimeSetting, RuntimeSettingVersion
from core.config.registry import Definition, UnknownSettingError, definition_for
from core.config.selectors import display_value, setting_history, version_diff
from core.errors import AppError
from core.readonly_admin import ReadOnlyAdmin

REASON_HELP = "Why the setting changes. Kept in the history and the audit log."


def _value_field(definition: Definition) -> forms.Field:
    choices = definition.get_choices()
    common = {"required": False, "help_text": f"{definition.description} Allowed: {definition.describe_bounds()}."}
    if choices is not None:
        return forms.TypedChoiceField(
            choices=[(c, c) for c in choices], coerce=definition.type, empty_value=None, **common
        )
    if definition.type is bool:
        return forms.BooleanField(**common)
    if definition.type is int:
        return forms.IntegerField(min_value=definition.min_value, max_value=definition.max_value, **common)
    if definition.type is float:
        return forms.FloatField(min_value=definition.min_value, max_value=definition.max_value, **common)
    widget = forms.Textarea(attrs={"rows": 12, "cols": 100}) if (definition.max_length or 0) > 200 else None
    return forms.CharField(max_length=definition.max_length, strip=False, widget=widget, **common)


class RuntimeSettingForm(forms.ModelForm):
    use_default = forms.BooleanField(
        required=False, label="Reset to the default", help_text="Ignore the value above and use the default again."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 100}),
        max_length=services.REASON_MAX_LENGTH,
        help_text=REASON_HELP,
    )

    class Meta:
        model = RuntimeSetting
        fields = ["value", "use_default", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition_for(self.instance.key)
        self.fields["value"] = _value_field(self.definition)
        self.initial["value"] = self.instance.effective_value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("use_default"):
            cleaned["value"] = None
            return cleaned
        if "value" in cleaned:
            try:
                cleaned["value"] = self.definition.clean(cleaned["value"])
            except ValidationError as exc:
                self.add_error("value", exc)
        return cleaned

    def _post_clean(self):
        # The service validates and saves; the model instance is never saved by the form.
        pass


@admin.register(RuntimeSetting)
class RuntimeSettingAdmin(admin.ModelAdmin):
    form = RuntimeSettingForm
    list_display = ["key", "current_value", "is_default", "is_critical", "revision", "updated_at", "updated_by"]
    search_fields = ["key"]
    readonly_fields = [
        "key",
        "description",
        "is_critical",
        "bounds",
        "default_value",
        "current_value",
        "revision",
        "history",
    ]
    fieldsets = [
        (None, {"fields": ["key", "description", "is_critical", "bounds", "default_value", "current_value"]}),
        ("Change", {"fields": ["value", "use_default", "reason"]}),
        ("History", {"fields": ["history"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        try:
            return services.can_change(user=request.user, definition=definition_for(obj.key))
        except UnknownSettingError:
            return False

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [self.fieldsets[0], self.fieldsets[2]]
        return self.fieldsets

    @admin.display(description="versions, newest first")
    def history(self, setting):
        rows = format_html_join(
            "",
            "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}</td>"
            '<td><a href="{}">Roll back to this version</a></td></tr>',
            (
                (
                    version.number,
                    f"{version.created_at:%Y-%m-%d %H:%M:%S}",
                    version.changed_by_username or "-",
                    version.reason,
                    version_diff(version),
                    f"rolls back to v{version.rolled_back_from.number}" if version.rolled_back_from_id else "",
                    reverse("admin:core_runtimesettingversion_rollback", args=[version.pk]),
                )
                for version in setting_history(key=setting.key)
            ),
        )
        if not rows:
            return "No changes yet: the default applies."
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th><th></th></tr>",
            "version",
            "when (UTC)",
            "who",
            "why",
            "change",
        )
        return format_html("<table>{}{}</table>", header, rows)

    @admin.display(description="current value")
    def current_value(self, setting):
        if setting.definition is None:
            return "(no longer defined)"
        return Truncator(display_value(setting.key, setting.value)).chars(120)

    @admin.display(description="default", boolean=True)
    def is_default(self, setting):
        return not setting.is_overridden

    @admin.display(description="critical", boolean=True)
    def is_critical(self, setting):
        return bool(setting.definition and setting.definition.critical)

    @admin.display(description="description")
    def description(self, setting):
        return setting.definition.description if setting.definition else ""

    @admin.display(description="allowed values")
    def bounds(self, setting):
        return setting.definition.describe_bounds() if setting.definition else ""

    @admin.display(description="default value")
    def default_value(self, setting):
        return display_value(setting.key, None).removeprefix("(default) ") if setting.definition else ""

    def save_model(self, request, obj, form, change):
        try:
            version = services.setting_update(
                key=obj.key,
                value=form.cleaned_data["value"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except AppError as exc:
            # The form checked the same rules; this only happens if they changed in between.
            messages.error(request, exc.message)
            return
        if version is None:
            messages.info(request, f"Nothing changed: {obj.key} already had this value.")
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Versions are written by the service only.
        pass


class RollbackForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=services.REASON_MAX_LENGTH,
        help_text=REASON_HELP,
    )


@admin.register(RuntimeSettingVersion)
class RuntimeSettingVersionAdmin(ReadOnlyAdmin):
    list_display = ["setting", "number", "created_at", "changed_by_username", "short_diff", "reason", "rollback_of"]
    list_filter = ["setting__key"]
    search_fields = ["setting__key", "reason", "changed_by_username"]
    list_select_related = ["setting", "rolled_back_from"]
    fields = ["setting", "number", "created_at", "changed_by_username", "reason", "diff", "rollback_of", "rollback"]
    readonly_fields = fields
    actions = ["rollback_to_selected"]

    def has_rollback_permission(self, request):
        return request.user.has_perm("core.change_runtimesetting")

    @admin.display(description="change")
    def diff(self, version):
        return format_html("<pre>{}</pre>", version_diff(version))

    @admin.display(description="change")
    def short_diff(self, version):
        return Truncator(version_diff(version).replace("\n", " ")).chars(100)

    @admin.display(description="rolls back to")
    def rollback_of(self, version):
        return f"v{version.rolled_back_from.number}" if version.rolled_back_from_id else ""

    @admin.display(description="")
    def rollback(self, version):
        url = reverse("admin:core_runtimesettingversion_rollback", args=[version.pk])
        return format_html('<a href="{}">Roll back to this version</a>', url)

    @admin.action(description="Roll back to the selected version", permissions=["rollback"])
    def rollback_to_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to roll back to.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:core_runtimesettingversion_rollback", args=[queryset.get().pk]))

    def get_urls(self):
        return [
            path(
                "<int:version_id>/rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="core_runtimesettingversion_rollback",
            ),
            *super().get_urls(),
        ]

    def rollback_view(self, request, version_id: int):
        version = get_object_or_404(RuntimeSettingVersion.objects.select_related("setting"), pk=version_id)
        setting = version.setting
        try:
            definition = definition_for(setting.key)
        except UnknownSettingError:
            raise PermissionDenied from None
        if not (
            self.has_rollback_permission(request) and services.can_change(user=request.user, definition=definition)
        ):
            raise PermissionDenied
        form = RollbackForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.setting_rollback(
                    version=version, actor=request.user, reason=form.cleaned_data["reason"], request=request
                )
            except AppError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{setting.key} is back to the value of version {version.number}.")
                return HttpResponseRedirect(reverse("admin:core_runtimesetting_change", args=[setting.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Roll back {setting.key} to version {version.number}",
            "opts": self.model._meta,
            "version": version,
            "setting": setting,
            "current": display_value(setting.key, setting.value),
            "target": display_value(setting.key, version.new_value),
            "form": form,
        }
        return TemplateResponse(request, "admin/core/runtimesettingversion/rollback.html", context)
