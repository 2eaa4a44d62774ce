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
from core.config.selectors import display_value, setting_history_entries, version_diff
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
        ("History, newest first", {"fields": ["history"], "classes": ["ops-full-width"]}),
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

    @admin.display(description="versions")
    def history(self, setting):
        if setting.definition is None:
            return "(no longer defined)"
        rows = format_html_join(
            "", "{}", ((self._history_row(setting, entry),) for entry in setting_history_entries(setting=setting))
        )
        header = format_html(
            "<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>",
            "version",
            "when (UTC)",
            "who",
            "why",
            "change",
            "",
        )
        return format_html('<table class="ops-history">{}<tbody>{}</tbody></table>', header, rows)

    def _history_row(self, setting, entry):
        if entry.is_current:
            action = format_html(
                '<span class="ops-current">{}</span>', "current" if entry.is_newest else "same as current"
            )
        elif entry.version is None:
            url = reverse("admin:core_runtimesetting_rollback_default", args=[setting.pk])
            action = format_html('<a href="{}">Roll back to v0</a>', url)
        else:
            url = reverse("admin:core_runtimesettingversion_rollback", args=[entry.version.pk])
            action = format_html('<a href="{}">Roll back to v{}</a>', url, entry.number)
        if entry.version is None:
            return format_html(
                "<tr><td>v0</td><td>-</td><td>-</td><td>{}</td><td><pre>{}</pre></td><td>{}</td></tr>",
                "the code default",
                display_value(setting.key, None).removeprefix("(default) "),
                action,
            )
        version = entry.version
        rolls_back_to = version.rolls_back_to
        note = format_html("<br><em>rolls back to v{}</em>", rolls_back_to) if rolls_back_to is not None else ""
        return format_html(
            "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}{}</td><td><pre>{}</pre></td><td>{}</td></tr>",
            version.number,
            f"{version.created_at:%Y-%m-%d %H:%M:%S}",
            version.changed_by_username or "-",
            version.reason,
            note,
            version_diff(version),
            action,
        )

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

    def get_urls(self):
        return [
            path(
                "<int:setting_id>/rollback-to-default/",
                self.admin_site.admin_view(self.rollback_to_default_view),
                name="core_runtimesetting_rollback_default",
            ),
            *super().get_urls(),
        ]

    def rollback_to_default_view(self, request, setting_id: int):
        setting = get_object_or_404(RuntimeSetting, pk=setting_id)
        return rollback_page(self, request, setting=setting, version=None)

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
        rolls_back_to = version.rolls_back_to
        return "" if rolls_back_to is None else f"v{rolls_back_to}"

    @admin.display(description="")
    def rollback(self, version):
        if version.has_current_value:
            return "This is the current value."
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
        return rollback_page(self, request, setting=version.setting, version=version)


def _may_roll_back(request, setting: RuntimeSetting) -> bool:
    try:
        definition = definition_for(setting.key)
    except UnknownSettingError:
        return False
    return request.user.has_perm("core.change_runtimesetting") and services.can_change(
        user=request.user, definition=definition
    )


def _nothing_to_roll_back(setting: RuntimeSetting, version: RuntimeSettingVersion | None) -> str | None:
    """Why rolling back to ``version`` (None: version 0) would change nothing, or None if it would."""
    if version is None:
        if setting.value is None:
            return f"{setting.key} already uses the code default (version 0); there is nothing to roll back."
        return None
    if not version.has_current_value:
        return None
    if version.number == setting.revision:
        return f"Version {version.number} is the current version of {setting.key}; there is nothing to roll back."
    return f"{setting.key} already has the value of version {version.number}; there is nothing to roll back."


def rollback_page(model_admin, request, *, setting: RuntimeSetting, version: RuntimeSettingVersion | None):
    """Confirms and performs a rollback to ``version``, or to the code default (version 0) when it is None."""
    if not _may_roll_back(request, setting):
        raise PermissionDenied
    change_url = reverse("admin:core_runtimesetting_change", args=[setting.pk])
    refusal = _nothing_to_roll_back(setting, version)
    if refusal is not None:
        model_admin.message_user(request, refusal, messages.WARNING)
        return HttpResponseRedirect(change_url)
    number = 0 if version is None else version.number
    form = RollbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if version is None:
                services.setting_rollback_to_default(
                    key=setting.key, actor=request.user, reason=form.cleaned_data["reason"], request=request
                )
            else:
                services.setting_rollback(
                    version=version, actor=request.user, reason=form.cleaned_data["reason"], request=request
                )
        except AppError as exc:
            form.add_error(None, exc.message)
        else:
            model_admin.message_user(request, f"{setting.key} is back to the value of version {number}.")
            return HttpResponseRedirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Roll back {setting.key} to version {number}",
        "opts": RuntimeSettingVersion._meta,
        "version": version,
        "number": number,
        "setting": setting,
        "current": display_value(setting.key, setting.value),
        "target": display_value(setting.key, None if version is None else version.new_value),
        "form": form,
    }
    return TemplateResponse(request, "admin/core/runtimesettingversion/rollback.html", context)
