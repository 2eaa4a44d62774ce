"""Rich messages in the ops console: build one, preview it as LINE shows it, validate it with LINE, send a test.

A message is never edited: a changed message is a new one (a new image under a new name). The preview of a
template version (its page's ``rich_preview`` block) is answered here too: the version's form as it is now,
composed with sample copy and drawn in the browser by the LINE simulator's Flex renderer.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from conversations.models import LineUser
from core.errors import AppError, ValidationError
from richmessages import copywriting, flex, hosting, message_services
from richmessages.forms import FormPages, VersionForm
from richmessages.models import RichMessage, RichTemplate

_LANGUAGE_CHOICES = list(copywriting.LANGUAGES.items())


class BuildForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=RichTemplate.objects.filter(archived_at__isnull=True, versions__status="approved").distinct(),
        help_text="Templates with an approved version; the message is built from that version.",
    )
    language = forms.ChoiceField(choices=_LANGUAGE_CHOICES)
    title = forms.CharField(required=False, strip=False, help_text="Leave empty for the AI to write it.")
    body = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Leave empty for the AI."
    )
    # The brief's limits count characters as readers see them (the service checks); these only bound the input.
    theme = forms.CharField(required=False, max_length=800, help_text="What the AI writes about.")
    tone = forms.CharField(required=False, max_length=400, help_text="e.g. caring, playful, calm")
    audience = forms.CharField(required=False, max_length=800, help_text="Who reads it.")

    @classmethod
    def fieldsets(cls):
        return [
            (None, {"fields": ["template", "language"]}),
            (
                "Copy",
                {
                    "fields": ["title", "body"],
                    "description": "Counted as readers see characters, within the template's limits. Leave both "
                    "empty for the AI to write them from the brief below; when it cannot, the template's curated "
                    "copy or a safe default is used.",
                },
            ),
            ("Brief for the AI", {"fields": ["theme", "tone", "audience"]}),
        ]

    def brief(self) -> dict:
        return {key: self.cleaned_data[key] for key in ("theme", "tone", "audience") if self.cleaned_data[key]}

    def add_service_errors(self, error: ValidationError) -> None:
        for field, problems in (error.details or {"": [error.message]}).items():
            name = field.removeprefix("brief.")
            for problem in problems if isinstance(problems, list) else [problems]:
                self.add_error(
                    name if name in self.fields else None, problem if name in self.fields else f"{field}: {problem}"
                )


class TestSendForm(forms.Form):
    line_user_id = forms.CharField(
        max_length=64, label="LINE user id", help_text="The U… id of a LINE user who follows the bot."
    )

    def clean_line_user_id(self):
        value = self.cleaned_data["line_user_id"].strip()
        line_user = LineUser.objects.filter(line_user_id=value).first()
        if line_user is None:
            raise forms.ValidationError("No LINE user has this id.")
        self.line_user = line_user
        return value


def preview_of(message: RichMessage) -> dict:
    """The message as LINE gets it, but with the hero image from this host: the console's CSP allows images from
    itself only, and PUBLIC_BASE_URL may name another host for the same files."""
    shown = copy.deepcopy(message.flex)
    hero = shown.get("contents", {}).get("hero")
    if isinstance(hero, dict) and hero.get("url") == hosting.public_url(message.image.name):
        hero["url"] = hosting.path(message.image.name)
    return shown


@admin.register(RichMessage)
class RichMessageAdmin(FormPages, admin.ModelAdmin):
    list_display = ["thumbnail", "title", "language", "copy_source", "template_version", "likes", "saves", "created_at"]
    list_display_links = ["thumbnail", "title"]
    list_filter = ["language", "copy_source"]
    search_fields = ["title", "body", "code", "template_version__template__name"]
    list_select_related = ["template_version__template"]
    readonly_fields = [
        "code",
        "template_version",
        "language",
        "title",
        "body",
        "brief",
        "copy_source",
        "image_link",
        "image_sha256",
        "created_by",
        "created_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                like_count=Count("reactions", filter=Q(reactions__kind="like")),
                save_count=Count("reactions", filter=Q(reactions__kind="save")),
            )
        )

    def has_change_permission(self, request, obj=None):
        return False  # a changed message is a new message

    def has_delete_permission(self, request, obj=None):
        return False  # campaigns and engagement events point at messages

    @admin.display(description="picture")
    def thumbnail(self, obj):
        return format_html(
            '<img src="{}" alt="" width="120" loading="lazy" class="rich-message-thumbnail">',
            hosting.path(obj.image.name),
        )

    @admin.display(description="picture")
    def image_link(self, obj):
        return format_html('<a href="{}">{}</a>', hosting.public_url(obj.image.name), obj.image.name)

    @admin.display(description="likes", ordering="like_count")
    def likes(self, obj):
        return obj.like_count

    @admin.display(description="saves", ordering="save_count")
    def saves(self, obj):
        return obj.save_count

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/validate/", view(self.validate_view), name=f"{prefix}_validate"),
            path("<path:object_id>/test-send/", view(self.test_send_view), name=f"{prefix}_test_send"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {**(extra_context or {}), "can_send_test": request.user.has_perm(message_services.SEND_TEST_PERMISSION)}
        message = self.get_object(request, unquote(object_id))
        if message is not None:
            extra["preview_flex"] = preview_of(message)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _message_or_404(self, request, object_id) -> RichMessage:
        message = self.get_object(request, unquote(object_id))
        if message is None:
            raise Http404("No such rich message.")
        if not self.has_view_permission(request, message):
            raise PermissionDenied
        return message

    def _back(self, message: RichMessage) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:richmessages_richmessage_change", args=[message.pk]))

    # --- building ----------------------------------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BuildForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message = message_services.rich_message_build(
                    template=form.cleaned_data["template"],
                    language=form.cleaned_data["language"],
                    title=form.cleaned_data["title"] or None,
                    body=form.cleaned_data["body"] or None,
                    brief=form.brief(),
                    actor=request.user,
                    request=request,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except AppError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                source = message.get_copy_source_display().lower()
                self.message_user(request, f"Built “{message.title}” (copy: {source}).")
                return self._back(message)
        return self.render_form(request, form, title="Build a rich message")

    # --- LINE ---------------------------------------------------------------------------------------------------
    def validate_view(self, request, object_id):
        return require_POST(self._validate)(request, object_id)

    def _validate(self, request, object_id):
        message = self._message_or_404(request, object_id)
        try:
            check = message_services.rich_message_validate(message=message, actor=request.user)
        except AppError as exc:
            self.message_user(request, f"LINE could not check it: {exc.message}", messages.ERROR)
            return self._back(message)
        if check.valid:
            self.message_user(request, "LINE accepts this message.")
        else:
            for problem in check.problems:
                where = f"{problem['property']}: " if problem["property"] else ""
                self.message_user(request, f"LINE refuses it: {where}{problem['message']}", messages.ERROR)
        return self._back(message)

    def test_send_view(self, request, object_id):
        message = self._message_or_404(request, object_id)
        if not request.user.has_perm(message_services.SEND_TEST_PERMISSION):
            raise PermissionDenied
        form = TestSendForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                sent = message_services.rich_message_test_send(
                    message=message, line_user=form.line_user, actor=request.user, request=request
                )
            except AppError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Sent to {sent.line_user} (LINE request {sent.request_id or '-'}).")
                return self._back(message)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send “{message.title}” as a test",
            "opts": self.opts,
            "original": message,
            "form": form,
        }
        return TemplateResponse(request, "admin/richmessages/richmessage/test_send.html", context)


# --- the live preview of a template version ------------------------------------------------------
def version_preview(model_admin, request, object_id) -> JsonResponse:
    """POST with the version form's fields (or none: the version as stored) and ``preview_language``."""
    version = model_admin.get_object(request, unquote(object_id))
    if version is None:
        raise Http404("No such version.")
    if not model_admin.has_view_permission(request, version):
        raise PermissionDenied
    changes: dict = {}
    if "title_max_chars" in request.POST and version.is_editable:
        form = VersionForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"errors": {k: [str(m) for m in v] for k, v in form.errors.items()}}, status=400)
        changes = form.metadata(keep_copy=version.curated_copy)
    try:
        preview = message_services.rich_message_preview(
            version=version, language=request.POST.get("preview_language", "th"), changes=changes, actor=request.user
        )
    except ValidationError as exc:
        return JsonResponse({"errors": exc.details or {"request": [exc.message]}}, status=400)
    except AppError as exc:
        return JsonResponse({"errors": {"request": [exc.message]}}, status=exc.status_code)
    return JsonResponse(
        {
            "flex": preview.flex,
            "title": preview.title,
            "body": preview.body,
            "copy_source": preview.copy_source,
            "copy_source_label": RichMessage.CopySource(preview.copy_source).label.lower(),
            "truncated": preview.truncated,
            "json_bytes": preview.json_bytes,
            "max_bytes": flex.MAX_BUBBLE_BYTES,
        }
    )


def version_preview_urls(model_admin) -> list:
    """The preview's URL, for the template version admin's ``get_urls``."""

    @require_POST
    def view(request, object_id):
        return version_preview(model_admin, request, object_id)

    prefix = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}"
    return [path("<path:object_id>/preview/", model_admin.admin_site.admin_view(view), name=f"{prefix}_preview")]
