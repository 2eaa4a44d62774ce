"""The template library in the ops console.

Templates are uploaded through a form that calls the create service; a draft version is edited
through a form that calls the update service; approved and archived versions are shown read-only,
with a button that starts a new draft from them. Approving honours the roles and the four-eyes rule
(the services enforce both; the buttons only hide what would be refused).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from core.errors import AppError, ValidationError
from core.readonly_admin import ReadOnlyInline
from richmessages import hosting, selectors, services
from richmessages.forms import FormPages, TemplateUploadForm, VersionForm
from richmessages.message_admin import version_preview_urls
from richmessages.models import RichTemplate, RichTemplateVersion


def _thumbnail(version: RichTemplateVersion | None, *, width: int = 120) -> str:
    if version is None or not version.background.name:
        return "-"
    return format_html(
        '<img src="{}" alt="" width="{}" loading="lazy" class="rich-thumbnail">',
        hosting.path(version.background.name),
        width,
    )


def _can_approve(user, version: RichTemplateVersion) -> bool:
    return (
        user.has_perm(services.APPROVE_PERMISSION)
        and version.status == RichTemplateVersion.Status.DRAFT
        and version.template.archived_at is None
        and version.author_id != user.pk
    )


class ArchivedFilter(admin.SimpleListFilter):
    title = "use"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "In use"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


class VersionInline(ReadOnlyInline):
    model = RichTemplateVersion
    fields = ["thumbnail", "number", "status", "author", "approved_by", "approved_at", "updated_at"]
    readonly_fields = fields
    ordering = ["-number"]
    show_change_link = True

    @admin.display(description="background")
    def thumbnail(self, obj):
        return _thumbnail(obj)


@admin.register(RichTemplate)
class RichTemplateAdmin(FormPages, admin.ModelAdmin):
    list_display = ["thumbnail", "name", "slug", "status", "newest_version", "approved", "archived_at"]
    list_display_links = ["thumbnail", "name"]
    list_filter = [ArchivedFilter]
    search_fields = ["name", "slug", "versions__theme", "versions__mood"]
    readonly_fields = ["thumbnail_large", "name", "slug", "created_by", "created_at", "archived_at"]
    fields = readonly_fields
    inlines = [VersionInline]
    actions = ["approve_newest_drafts", "archive_templates"]

    def get_queryset(self, request):
        return selectors.rich_templates_with_versions()

    def has_change_permission(self, request, obj=None):
        # Templates change only through their versions and the actions below.
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm(services.APPROVE_PERMISSION)

    def has_archive_permission(self, request):
        return request.user.has_perm(services.CHANGE_PERMISSION) or request.user.has_perm(services.APPROVE_PERMISSION)

    @admin.display(description="background")
    def thumbnail(self, obj):
        return _thumbnail(selectors.latest_version(obj))

    @admin.display(description="background of the newest version")
    def thumbnail_large(self, obj):
        return _thumbnail(selectors.latest_version(obj), width=480)

    @admin.display(description="status")
    def status(self, obj):
        latest = selectors.latest_version(obj)
        return latest.get_status_display() if latest else "-"

    @admin.display(description="newest version")
    def newest_version(self, obj):
        latest = selectors.latest_version(obj)
        return latest.number if latest else "-"

    @admin.display(description="approved version")
    def approved(self, obj):
        approved = selectors.approved_version(obj)
        return approved.number if approved else "-"

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TemplateUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                template = services.rich_template_create(
                    name=form.cleaned_data["name"],
                    slug=form.cleaned_data["slug"] or None,
                    image=form.cleaned_data["image"],
                    metadata=form.metadata(),
                    author=request.user,
                    request=request,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except AppError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Uploaded {template.name}; version 1 is a draft awaiting approval.")
                version = template.versions.get()
                return HttpResponseRedirect(reverse("admin:richmessages_richtemplateversion_change", args=[version.pk]))
        return self.render_form(request, form, title="Upload a rich template")

    @admin.action(description="Approve the newest draft of the selected templates", permissions=["approve"])
    def approve_newest_drafts(self, request, queryset):
        versions = [selectors.latest_version(template) for template in queryset]
        _approve_each(self, request, [v for v in versions if v is not None])

    @admin.action(description="Archive the selected templates", permissions=["archive"])
    def archive_templates(self, request, queryset):
        done = 0
        for template in queryset:
            try:
                services.rich_template_archive(template=template, actor=request.user, request=request)
                done += 1
            except AppError as exc:
                self.message_user(request, f"{template}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Archived {done} template(s).")


def _approve_each(model_admin, request, versions) -> None:
    done = 0
    for version in versions:
        try:
            services.rich_template_approve(version=version, approver=request.user, request=request)
            done += 1
        except AppError as exc:
            model_admin.message_user(request, f"{version}: {exc.message}", messages.ERROR)
    if done:
        model_admin.message_user(request, f"Approved {done} version(s).")


@admin.register(RichTemplateVersion)
class RichTemplateVersionAdmin(FormPages, admin.ModelAdmin):
    list_display = ["thumbnail", "template", "number", "status", "author", "approved_by", "updated_at"]
    list_display_links = ["thumbnail", "template"]
    list_filter = ["status"]
    list_select_related = ["template", "author", "approved_by"]
    search_fields = ["template__name", "template__slug", "theme", "mood"]
    readonly_fields = [
        "thumbnail_large",
        "template",
        "number",
        "status",
        "width",
        "height",
        "background_sha256",
        "theme",
        "mood",
        "best_for",
        "times_of_day",
        "title_area",
        "body_area",
        "title_max_chars",
        "body_max_chars",
        "buttons",
        "curated_copy",
        "author",
        "created_at",
        "updated_at",
        "approved_by",
        "approved_at",
    ]
    fields = readonly_fields
    actions = ["approve_selected"]

    def has_add_permission(self, request):
        # A version is made by uploading a template or by editing an approved version.
        return False

    def has_delete_permission(self, request, obj=None):
        # Messages point at versions; a version leaves use by being archived.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and (not obj.is_editable or obj.template.archived_at is not None):
            return False
        return super().has_change_permission(request, obj)

    def has_approve_permission(self, request):
        return request.user.has_perm(services.APPROVE_PERMISSION)

    @admin.display(description="background")
    def thumbnail(self, obj):
        return _thumbnail(obj)

    @admin.display(description="background")
    def thumbnail_large(self, obj):
        return _thumbnail(obj, width=480)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/approve/", self.admin_site.admin_view(self.approve_view), name=f"{prefix}_approve"),
            path(
                "<path:object_id>/new-draft/",
                self.admin_site.admin_view(self.new_draft_view),
                name=f"{prefix}_new_draft",
            ),
            *version_preview_urls(self),
            *super().get_urls(),
        ]

    def _buttons(self, request, version) -> dict:
        user = request.user
        return {
            "can_approve": _can_approve(user, version),
            "can_start_draft": (
                not version.is_editable
                and version.template.archived_at is None
                and user.has_perm(services.CHANGE_PERMISSION)
            ),
            "is_author": version.author_id == user.pk,
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        if version is not None and self.has_change_permission(request, version):
            return self.draft_view(request, version)
        extra = {**(extra_context or {}), **(self._buttons(request, version) if version is not None else {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def draft_view(self, request, version):
        form = VersionForm(request.POST or None, request.FILES or None, initial=VersionForm.initial_of(version))
        if request.method == "POST" and form.is_valid():
            changes = form.metadata(keep_copy=version.curated_copy)
            if form.cleaned_data.get("image"):
                changes["image"] = form.cleaned_data["image"]
            try:
                services.rich_template_version_update(
                    version=version, changes=changes, actor=request.user, request=request
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except AppError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Saved {version.template} version {version.number}.")
                return HttpResponseRedirect(request.path)
        title = f"{version.template} · version {version.number} (draft)"
        extra = {**self._buttons(request, version), "rich_thumbnail": _thumbnail(version, width=480)}
        return self.render_form(request, form, title=title, obj=version, extra=extra)

    @admin.action(description="Approve the selected drafts", permissions=["approve"])
    def approve_selected(self, request, queryset):
        _approve_each(self, request, list(queryset.select_related("template")))

    def _version_or_404(self, request, object_id):
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404("No such version.")
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        return version

    def approve_view(self, request, object_id):
        return require_POST(self._approve)(request, object_id)

    def _approve(self, request, object_id):
        version = self._version_or_404(request, object_id)
        try:
            services.rich_template_approve(version=version, approver=request.user, request=request)
        except AppError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, f"Approved {version.template} version {version.number}.")
        return HttpResponseRedirect(reverse("admin:richmessages_richtemplateversion_change", args=[version.pk]))

    def new_draft_view(self, request, object_id):
        return require_POST(self._new_draft)(request, object_id)

    def _new_draft(self, request, object_id):
        version = self._version_or_404(request, object_id)
        if version.is_editable:
            return HttpResponseRedirect(reverse("admin:richmessages_richtemplateversion_change", args=[version.pk]))
        try:
            draft = services.rich_template_version_update(
                version=version, changes={}, actor=request.user, request=request
            )
        except AppError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            draft = version
        else:
            self.message_user(request, f"Version {draft.number} is a new draft made from version {version.number}.")
        return HttpResponseRedirect(reverse("admin:richmessages_richtemplateversion_change", args=[draft.pk]))


from richmessages.campaigns import admin as campaigns_admin  # noqa: E402, F401 - registers the campaign admin
