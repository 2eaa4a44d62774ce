"""Rich menus in the ops console: image and tap areas, aliases, the default menu, and links to users.

Every save queues a sync to LINE (``richmessages.richmenu_tasks``) once the transaction commits.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.errors import ValidationError
from core.line.client import RICH_MENU_BULK_MAX
from core.readonly_admin import ReadOnlyInline
from richmessages.richmenu_forms import LinkUsersForm, RichMenuForm
from richmessages.richmenu_links import line_user_ids_parse, richmenu_users_link, richmenu_users_unlink
from richmessages.richmenu_models import RichMenu, RichMenuAlias, RichMenuDeployment, RichMenuUserLink
from richmessages.richmenu_services import richmenu_save
from richmessages.richmenu_tasks import (
    richmenu_alias_delete_enqueue,
    richmenu_sync_enqueue,
    richmenu_unlinks_enqueue,
)


class RichMenuAliasInline(admin.TabularInline):
    model = RichMenuAlias
    fields = ["alias_id", "line_rich_menu_id"]
    readonly_fields = ["line_rich_menu_id"]
    extra = 0


class RichMenuDeploymentInline(ReadOnlyInline):
    model = RichMenuDeployment
    verbose_name = "copy on LINE"
    verbose_name_plural = "copies on LINE (a changed menu is a new copy)"
    fields = [
        "line_rich_menu_id",
        "line_name",
        "created_on_line_at",
        "image_uploaded_at",
        "is_default_on_line",
        "deleted_on_line_at",
    ]
    readonly_fields = fields


@admin.register(RichMenu)
class RichMenuAdmin(admin.ModelAdmin):
    form = RichMenuForm
    list_display = ["name", "chat_bar_text", "is_default", "active", "live_on_line", "synced_at", "sync_problem"]
    list_filter = ["is_default", "active"]
    search_fields = ["name", "chat_bar_text", "aliases__alias_id", "deployments__line_rich_menu_id"]
    readonly_fields = ["image_facts", "synced_at", "sync_error"]
    inlines = [RichMenuAliasInline, RichMenuDeploymentInline]
    actions = ["sync_to_line", "link_users"]
    fieldsets = [
        (None, {"fields": ["name", "chat_bar_text", "selected", "is_default", "active"]}),
        ("Image and tap areas", {"fields": ["image", "image_facts", "areas"]}),
        ("Sync to LINE", {"fields": ["synced_at", "sync_error"]}),
    ]

    # --- the form ------------------------------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        image_url = reverse("admin:richmessages_richmenu_image", args=[obj.pk]) if obj and obj.image else ""

        class Form(form_class):
            def __init__(self, *args, **inner):
                super().__init__(*args, image_url=image_url, **inner)

        return Form

    @admin.display(description="image")
    def image_facts(self, obj):
        if not obj or not obj.image:
            return "—"
        return f"{obj.image_width}x{obj.image_height} {obj.image_content_type}, sha256 {obj.image_sha256[:12]}…"

    @admin.display(description="on LINE")
    def live_on_line(self, obj):
        live = obj.live_deployment
        return live.line_rich_menu_id if live else "—"

    @admin.display(description="sync problem")
    def sync_problem(self, obj):
        return obj.sync_error[:80]

    def save_model(self, request, obj, form, change):
        request._richmenu_due = richmenu_save(menu=obj, image=form.checked_image, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not RichMenuAlias:
            return super().save_formset(request, form, formset, change)
        renamed = {
            alias_form.instance.pk: alias_form.initial["alias_id"]
            for alias_form in formset.forms
            if alias_form.instance.pk and "alias_id" in alias_form.changed_data and alias_form.initial.get("alias_id")
        }
        super().save_formset(request, form, formset, change)
        for alias in formset.deleted_objects:
            richmenu_alias_delete_enqueue(alias_id=alias.alias_id)
        # A renamed alias is a new one on LINE: the old name is deleted there, the new one made by the sync.
        RichMenuAlias.objects.filter(pk__in=renamed).update(line_rich_menu_id="")
        for old_alias_id in renamed.values():
            richmenu_alias_delete_enqueue(alias_id=old_alias_id)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for menu_id in getattr(request, "_richmenu_due", [form.instance.pk]):
            richmenu_sync_enqueue(menu_id=menu_id)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and _on_line(obj):
            return False  # take it off LINE first: untick "active" and save
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        on_line = [menu.name for menu in queryset if _on_line(menu)]
        if on_line:
            self.message_user(
                request,
                f"Not deleted: {', '.join(on_line)} still on LINE. Make them inactive and save first.",
                messages.ERROR,
            )
            return
        super().delete_queryset(request, queryset)

    # --- the image -----------------------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view(self.image_view)
        return [path("<int:pk>/image/", view, name="richmessages_richmenu_image"), *super().get_urls()]

    def image_view(self, request, pk: int):
        menu = RichMenu.objects.filter(pk=pk).first()
        if menu is None or not menu.image:
            raise Http404("No such rich menu image.")
        if not self.has_view_permission(request, menu):
            raise PermissionDenied
        return FileResponse(menu.image.open("rb"), content_type=menu.image_content_type)

    # --- actions -------------------------------------------------------------------------------------------------
    @admin.action(description="Sync the selected rich menus to LINE", permissions=["change"])
    def sync_to_line(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        for menu_id in ids:
            richmenu_sync_enqueue(menu_id=menu_id)
        self.message_user(request, f"{len(ids)} rich menu(s) queued for a sync to LINE.")

    @admin.action(description="Link the selected rich menu to LINE users…", permissions=["change"])
    def link_users(self, request, queryset):
        menus = list(queryset[:2])
        if len(menus) != 1:
            self.message_user(request, "Select exactly one rich menu to link users to.", messages.WARNING)
            return None
        menu = menus[0]
        form = LinkUsersForm(request.POST if "link" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                if form.cleaned_data["segment"]:
                    ids = form.segment_user_ids()
                else:
                    ids = line_user_ids_parse(form.cleaned_data["line_user_ids"])
                count = richmenu_users_link(menu=menu, line_user_ids=ids, actor=request.user, request=request)
            except ValidationError as exc:
                form.add_error("line_user_ids" if not form.cleaned_data["segment"] else "segment", exc.message)
            else:
                richmenu_sync_enqueue(menu_id=menu.pk)
                calls = -(-count // RICH_MENU_BULK_MAX)
                self.message_user(
                    request,
                    f"{count} LINE user(s) linked to {menu}; LINE is updated in the background "
                    f"({calls} call(s) of at most {RICH_MENU_BULK_MAX} users).",
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Link “{menu}” to LINE users",
            "opts": self.model._meta,
            "menu": menu,
            "form": form,
            "action_name": "link_users",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "richmessages/richmenu_link_users.html", context)


def _on_line(menu: RichMenu) -> bool:
    return (
        menu.deployments.filter(deleted_on_line_at__isnull=True).exclude(create_started_at=None).exists()
        or menu.aliases.exclude(line_rich_menu_id="").exists()
        or menu.user_links.exclude(line_rich_menu_id="").exists()
    )


@admin.register(RichMenuUserLink)
class RichMenuUserLinkAdmin(admin.ModelAdmin):
    list_display = ["line_user", "menu", "line_rich_menu_id", "updated_at"]
    list_filter = ["menu"]
    search_fields = ["line_user__line_user_id", "line_user__display_name"]
    list_select_related = ["line_user", "menu"]
    readonly_fields = ["line_user", "menu", "line_rich_menu_id", "updated_at"]
    actions = ["unlink"]

    def has_add_permission(self, request):
        return False  # links are made from a rich menu: "Link the selected rich menu to LINE users…"

    def has_delete_permission(self, request, obj=None):
        return False  # "unlink" also tells LINE

    @admin.action(description="Unlink the selected users (they see the default menu again)", permissions=["change"])
    def unlink(self, request, queryset):
        ids = list(queryset.values_list("line_user__line_user_id", flat=True))
        count = richmenu_users_unlink(line_user_ids=ids, actor=request.user, request=request)
        richmenu_unlinks_enqueue()
        self.message_user(request, f"{count} user(s) unlinked; LINE is updated in the background.")
