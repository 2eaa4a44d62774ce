"""Campaigns in the ops console: draft, submit, review, control, and follow each send live.

Every write goes through ``richmessages.campaigns.services``, exactly as the API's do: the pages turn a form
or a button into one service call, so four eyes, the state rules and the audit log hold here as there. The
page of a campaign shows the recipient count before approval, the buttons its status and the user's role
allow (an author never sees "Approve" on their own campaign, and the service refuses it anyway), its
progress live from the campaigns dashboard (monitoring.dashboards), and links to the per-recipient list.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.errors import AppError, ValidationError
from richmessages.campaigns import audiences, console_forms, console_narrowcast, selectors, services
from richmessages.campaigns.models import Campaign
from richmessages.forms import FormPages

RECIPIENTS_PER_PAGE = 50
Status = Campaign.Status
# What each button does: the service, what it needs of the campaign and the user, what it says when done.
ACTIONS = {
    "submit": (services.campaign_submit, "actor", "Submitted for review."),
    "approve": (services.campaign_approve, "approver", "Approved."),
    "reject": (services.campaign_reject, "approver", "Sent back to its author."),
    "pause": (services.campaign_pause, "actor", "Paused."),
    "resume": (services.campaign_resume, "actor", "Resumed."),
    "cancel": (services.campaign_cancel, "actor", "Cancelled."),
}


def allowed_actions(campaign: Campaign, user) -> list[str]:
    """The buttons shown: what the status allows and the user's permissions give. The services decide."""
    may_change = user.has_perm(services.CHANGE_PERMISSION)
    may_approve = user.has_perm(services.APPROVE_PERMISSION)
    is_author = campaign.author_id is not None and campaign.author_id == user.pk
    shown = []
    if campaign.status == Status.DRAFT and may_change:
        shown.append("submit")
    if campaign.status == Status.IN_REVIEW and may_approve:
        if not is_author:
            shown.append("approve")
        shown.append("reject")
    if may_change or may_approve:
        if campaign.status in (Status.SCHEDULED, Status.SENDING):
            shown.append("pause")
        if campaign.status == Status.PAUSED:
            shown.append("resume")
        if campaign.status not in Campaign.FINAL:
            shown.append("cancel")
    return shown


@admin.register(Campaign)
class CampaignAdmin(FormPages, admin.ModelAdmin):
    list_display = ("name", "status", "author", "approved_by", "send_at", "progress", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    list_select_related = ("author", "approved_by")
    # Only for the list and the permissions: the add and change pages are the views below.
    fields = ("name",)

    def has_delete_permission(self, request, obj=None):
        return False  # a campaign's record stays; cancelling it is what stops it

    @admin.display(description="Progress (recipients / sent / failed / skipped / held)")
    def progress(self, campaign: Campaign) -> str:
        counts = selectors.campaign_counts(campaign)
        return " / ".join(str(counts[name]) for name in selectors.COUNTERS)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/edit/", view(self.edit_view), name=f"{prefix}_edit"),
            path("<path:object_id>/recipients/", view(self.recipients_view), name=f"{prefix}_recipients"),
            path("<path:object_id>/do/<str:action>/", view(require_POST(self.action_view)), name=f"{prefix}_action"),
            *super().get_urls(),
        ]

    # --- helpers -------------------------------------------------------------------------------------------
    def _campaign_or_404(self, request, object_id) -> Campaign:
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404("No such campaign.")
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def _page(self, campaign: Campaign) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:richmessages_campaign_change", args=[campaign.pk]))

    def _context(self, request, title: str, **extra) -> dict:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts, **extra}

    # --- drafting ------------------------------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = console_forms.CampaignForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                campaign = services.campaign_create(author=request.user, request=request, **form.values())
            except ValidationError as exc:
                form.add_service_errors(exc)
            except AppError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Draft “{campaign.name}” saved. Submit it for review when it is ready.")
                return self._page(campaign)
        return self.render_form(request, form, title="Draft a campaign", extra={"has_file_field": True})

    def edit_view(self, request, object_id):
        campaign = self._campaign_or_404(request, object_id)
        if not request.user.has_perm(services.CHANGE_PERMISSION):
            raise PermissionDenied
        if campaign.status not in Campaign.EDITABLE:
            self.message_user(request, f"The campaign is {campaign.status}; it cannot be edited.", messages.ERROR)
            return self._page(campaign)
        form = console_forms.CampaignForm(request.POST or None, request.FILES or None, campaign=campaign)
        if request.method == "POST" and form.is_valid():
            try:
                changes = form.changes()
                if not changes:
                    self.message_user(request, "Nothing changed.")
                    return self._page(campaign)
                was = campaign.status
                campaign = services.campaign_update(
                    campaign=campaign, changes=changes, actor=request.user, request=request
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except AppError as exc:
                form.add_error(None, exc.message)
            else:
                note = " It is a draft again: submit it for review." if was != campaign.status else ""
                self.message_user(request, f"Saved.{note}")
                return self._page(campaign)
        return self.render_form(
            request, form, title=f"Edit “{campaign.name}”", obj=campaign, extra={"has_file_field": True}
        )

    # --- the campaign's page -------------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self._campaign_or_404(request, object_id)
        user = request.user
        counts = selectors.campaign_counts(campaign)
        in_flight = campaign.status in (Status.SENDING, Status.PAUSED)
        live = in_flight and user.has_perm("monitoring.view_campaigns_dashboard")
        context = self._context(
            request,
            campaign.name,
            original=campaign,
            campaign=campaign,
            estimate=selectors.recipient_estimate(campaign),
            counts=counts,
            progress=[
                (name, counts[name], selectors.progress_key(campaign.pk, campaign.name, name))
                for name in selectors.PROGRESS_COUNTERS
            ],
            live=live,
            reasons=sorted(selectors.skip_reasons(campaign).items()),
            sends=campaign.sends.order_by("-due_at")[:20],
            variants=list(campaign.variants.select_related("rich_message")),
            audience_summary=audience_summary(campaign.audience or {}),
            quiet_hours=console_forms.quiet_hours(campaign),
            actions=allowed_actions(campaign, user),
            is_author=campaign.author_id == user.pk,
            may_edit=campaign.status in Campaign.EDITABLE and user.has_perm(services.CHANGE_PERMISSION),
            comment_form=console_forms.CommentForm(),
        )
        return TemplateResponse(request, "admin/richmessages/campaign/detail.html", context)

    def action_view(self, request, object_id, action: str):
        campaign = self._campaign_or_404(request, object_id)
        if action not in ACTIONS:
            raise Http404("No such action.")
        service, who, done = ACTIONS[action]
        form = console_forms.CommentForm(request.POST)
        comment = form.cleaned_data["comment"] if form.is_valid() else request.POST.get("comment", "")
        arguments = {"campaign": campaign, who: request.user, "request": request}
        if action in ("approve", "reject"):
            arguments["comment"] = comment
        try:
            service(**arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {', '.join(map(str, found))}" for field, found in (exc.details or {}).items()
            )
            self.message_user(request, f"{exc.message} {problems}".strip(), messages.ERROR)
        except AppError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, done)
        return self._page(campaign)

    # --- per-recipient delivery ----------------------------------------------------------------------------
    def recipients_view(self, request, object_id):
        campaign = self._campaign_or_404(request, object_id)
        form = console_forms.RecipientFilter(request.GET or None)
        status = reason = ""
        if form.is_valid():
            status, reason = form.cleaned_data["status"], form.cleaned_data["reason"]
        rows = selectors.campaign_recipients(campaign, status=status, reason=reason)
        page = Paginator(rows, RECIPIENTS_PER_PAGE).get_page(request.GET.get("page"))
        query = "&".join(f"{key}={value}" for key, value in (("status", status), ("reason", reason)) if value)
        context = self._context(
            request,
            f"Delivery of “{campaign.name}”",
            original=campaign,
            campaign=campaign,
            filter_form=form,
            page=page,
            query=query,
        )
        return TemplateResponse(request, "admin/richmessages/campaign/recipients.html", context)


def audience_summary(audience: dict) -> str:
    kind = audience.get("type")
    if kind == audiences.ALL_FOLLOWERS:
        return "All followers"
    if kind == audiences.USERS:
        return f"A list of {len(audience.get('line_user_ids', []))} LINE user ids"
    if kind == audiences.NARROWCAST:
        return console_narrowcast.summary(audience)
    if kind == audiences.SEGMENT:
        parts = []
        if audience.get("language"):
            parts.append("language " + ", ".join(audience["language"]))
        if audience.get("followed_after"):
            parts.append(f"followed after {audience['followed_after'][:10]}")
        if audience.get("followed_before"):
            parts.append(f"followed before {audience['followed_before'][:10]}")
        if audience.get("active_within_days"):
            parts.append(f"active within {audience['active_within_days']} days")
        if audience.get("tags"):
            parts.append("tags " + ", ".join(audience["tags"]))
        if audience.get("engaged_with_campaign"):
            verb = "engaged" if audience.get("engaged", True) else "did not engage"
            parts.append(f"{verb} with campaign {audience['engaged_with_campaign']}")
        return "Segment: " + ("; ".join(parts) if parts else "every follower")
    return "Not set"
