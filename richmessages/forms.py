"""The ops console's forms for templates: the upload form and the form of a draft version.

They only gather input; the services check it (``richmessages.metadata``) and their errors are put
back on the fields they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin import helpers

from core.errors import ValidationError
from richmessages import backgrounds
from richmessages.layout import OPTIONAL_KEYS, REQUIRED_KEYS
from richmessages.metadata import BUTTONS

# Curated copy edited here; other languages given through the API are kept as they are.
LANGUAGES = (("th", "Thai"), ("ja", "Japanese"), ("en", "English"))
AREAS = (("title", "Title area"), ("body", "Body area"))
AREA_KEYS = (*REQUIRED_KEYS, *OPTIONAL_KEYS)
_AREA_KINDS = {
    "overlay_color": "color",
    "stroke_color": "color",
    "color": "color",
    "line_height": "number",
    "overlay_opacity": "number",
    "shadow": "bool",
}


def _area_field(key: str) -> forms.Field:
    kind = _AREA_KINDS.get(key, "int")
    if kind == "int":
        return forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"class": "vIntegerField"}))
    if kind == "number":
        return forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "0.05"}))
    if kind == "color":
        return forms.CharField(required=False, max_length=7, widget=forms.TextInput(attrs={"placeholder": "#FFFFFF"}))
    return forms.BooleanField(required=False)


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class TemplateMetadataForm(forms.Form):
    theme = forms.CharField(required=False, max_length=64)
    mood = forms.CharField(required=False, max_length=64)
    best_for = forms.CharField(required=False, help_text="Comma-separated, e.g. work, study")
    times_of_day = forms.CharField(required=False, help_text="Comma-separated, e.g. morning, evening")
    title_max_chars = forms.IntegerField(initial=40, help_text="Longest title, in characters as a reader sees them")
    body_max_chars = forms.IntegerField(initial=160, help_text="Longest body, in characters as a reader sees them")
    buttons = forms.MultipleChoiceField(
        required=False, choices=[(b, b) for b in BUTTONS], widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for prefix, _label in AREAS:
            for key in AREA_KEYS:
                self.fields[f"{prefix}_{key}"] = _area_field(key)
                self.fields[f"{prefix}_{key}"].label = key.replace("_", " ").capitalize()
        for code, language in LANGUAGES:
            self.fields[f"copy_{code}_title"] = forms.CharField(required=False, label=f"{language} title")
            self.fields[f"copy_{code}_body"] = forms.CharField(
                required=False, label=f"{language} body", widget=forms.Textarea(attrs={"rows": 3})
            )

    @classmethod
    def metadata_fieldsets(cls) -> list[tuple[str, dict]]:
        return [
            ("Description", {"fields": ["theme", "mood", "best_for", "times_of_day"]}),
            *[
                (
                    label,
                    {
                        "fields": [f"{prefix}_{key}" for key in AREA_KEYS],
                        "description": "Pixels of the background. Leave the box empty for a default one; "
                        "the box must lie inside the image.",
                    },
                )
                for prefix, label in AREAS
            ],
            ("Copy", {"fields": ["title_max_chars", "body_max_chars", "buttons"]}),
            (
                "Curated copy",
                {
                    "fields": [f"copy_{code}_{part}" for code, _ in LANGUAGES for part in ("title", "body")],
                    "description": "Written by people; sent when the AI cannot write the copy.",
                },
            ),
        ]

    @staticmethod
    def initial_of(version) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "theme": version.theme,
            "mood": version.mood,
            "best_for": ", ".join(version.best_for),
            "times_of_day": ", ".join(version.times_of_day),
            "title_max_chars": version.title_max_chars,
            "body_max_chars": version.body_max_chars,
            "buttons": list(version.buttons),
        }
        for prefix, area in (("title", version.title_area), ("body", version.body_area)):
            for key in AREA_KEYS:
                if isinstance(area, dict) and key in area:
                    initial[f"{prefix}_{key}"] = area[key]
        for code, _ in LANGUAGES:
            copy = version.curated_copy.get(code, {}) if isinstance(version.curated_copy, dict) else {}
            initial[f"copy_{code}_title"] = copy.get("title", "")
            initial[f"copy_{code}_body"] = copy.get("body", "")
        return initial

    def metadata(self, *, keep_copy: dict | None = None) -> dict[str, Any]:
        """The cleaned input in the services' field names; ``keep_copy`` holds languages this form doesn't show."""
        data = self.cleaned_data
        result: dict[str, Any] = {
            "theme": data["theme"],
            "mood": data["mood"],
            "best_for": _split(data["best_for"]),
            "times_of_day": _split(data["times_of_day"]),
            "title_max_chars": data["title_max_chars"],
            "body_max_chars": data["body_max_chars"],
            "buttons": [button for button in BUTTONS if button in data["buttons"]],
        }
        for prefix, _label in AREAS:
            area = {}
            for key in AREA_KEYS:
                value = data.get(f"{prefix}_{key}")
                if key == "shadow":
                    if value:
                        area[key] = True
                elif value not in (None, ""):
                    area[key] = value
            result[f"{prefix}_area"] = area
        shown = {code for code, _ in LANGUAGES}
        copy = {code: text for code, text in (keep_copy or {}).items() if code not in shown}
        for code, _ in LANGUAGES:
            entry = {part: data[f"copy_{code}_{part}"] for part in ("title", "body") if data[f"copy_{code}_{part}"]}
            if entry:
                copy[code] = entry
        result["curated_copy"] = copy
        return result

    def add_service_errors(self, error: ValidationError) -> None:
        """Puts each message of a service's ValidationError on the field it names, or above the form."""
        labels = {"title_area": "Title area", "body_area": "Body area", "curated_copy": "Curated copy"}
        for field, messages in (error.details or {"": [error.message]}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                if field in self.fields:
                    self.add_error(field, message)
                else:
                    label = labels.get(field, field.replace("_", " ").capitalize())
                    self.add_error(None, f"{label}: {message}" if label else message)


_IMAGE_HELP = (
    f"JPEG or PNG, at most {backgrounds.MAX_BYTES // (1024 * 1024)} MB, each side "
    f"{backgrounds.MIN_SIDE} to {backgrounds.MAX_SIDE} pixels."
)


class TemplateUploadForm(TemplateMetadataForm):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(required=False, max_length=100, help_text="Made from the name when left empty.")
    image = forms.FileField(help_text=_IMAGE_HELP)

    @classmethod
    def fieldsets(cls):
        return [(None, {"fields": ["name", "slug", "image"]}), *cls.metadata_fieldsets()]


class VersionForm(TemplateMetadataForm):
    image = forms.FileField(required=False, label="New background", help_text=_IMAGE_HELP)

    @classmethod
    def fieldsets(cls):
        return [("Background", {"fields": ["image"]}), *cls.metadata_fieldsets()]


class FormPages:
    """Renders a plain form in the admin's change-form page, like the model's own form."""

    def render_form(self, request, form, *, title: str, obj=None, extra: dict | None = None):
        admin_form = helpers.AdminForm(form, form.fieldsets(), {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "adminform": admin_form,
            "object_id": obj.pk if obj is not None else None,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            "show_delete": False,
            **(extra or {}),
        }
        return self.render_change_form(request, context, add=obj is None, change=obj is not None, obj=obj)
