"""Writes of campaigns and the four-eyes workflow. Every change is audited.

draft → in_review → scheduled → sending → sent | failed | cancelled, and paused while scheduled or sending.
Content editors (``add_campaign``, ``change_campaign``) write and submit; an Operator or Administrator
(``approve_campaign``) other than the author approves, or sends back with a comment. Editing a campaign
in review or approved returns it to draft (its approval is gone, its next send with it). Pausing, resuming
and cancelling need ``change_campaign`` or ``approve_campaign``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent
from core.errors import ConflictError, PermissionDeniedError, ValidationError
from richmessages.campaigns import audiences, lifecycle, narrowcast, schedules, selectors
from richmessages.campaigns.cleaning import clean, current_values
from richmessages.campaigns.models import Campaign, CampaignRecipient, CampaignSend, CampaignVariant, StepEnrolment
from richmessages.campaigns.signals import campaign_work_ready

ADD_PERMISSION = "richmessages.add_campaign"
CHANGE_PERMISSION = "richmessages.change_campaign"
APPROVE_PERMISSION = "richmessages.approve_campaign"
COMMENT_MAX_CHARS = 2000


def _require(user, *permissions: str, doing: str) -> None:
    if user is None or not getattr(user, "is_active", False):
        raise PermissionDeniedError(f"Only an active staff user may {doing}.")
    if not any(user.has_perm(permission) for permission in permissions):
        raise PermissionDeniedError(f"You may not {doing}.")


def _audit(campaign: Campaign, action: str, *, actor, request, **details) -> None:
    from accounts import audit

    audit.record(
        action=action,
        actor=actor,
        target=f"campaign:{campaign.pk}",
        details={"name": campaign.name, "status": campaign.status, **details},
        request=request,
    )


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _save_variants(campaign: Campaign, variants: list[dict] | None) -> None:
    if variants is None:
        return
    campaign.variants.all().delete()
    CampaignVariant.objects.bulk_create(
        [
            CampaignVariant(campaign=campaign, name=v["name"], rich_message=v["rich_message"], weight=v["weight"])
            for v in variants
        ]
    )


def _work_ready(campaign_id: int) -> None:
    transaction.on_commit(lambda: campaign_work_ready.send(sender=Campaign, campaign_id=campaign_id))


def campaign_create(*, author, request=None, **values: Any) -> Campaign:
    """A new draft. ``values``: name, audience, rich_message (or variants: [{name, rich_message, weight}]),
    send_at, recurrence, timezone, local_time, step_days, holdout_percent, frequency_cap_day,
    frequency_cap_week, cooldown, quiet_hours_start, quiet_hours_end. ValidationError names each bad field."""
    _require(author, ADD_PERMISSION, doing="create campaigns")
    fields, variants = clean(values, base=None)
    with transaction.atomic():
        campaign = Campaign.objects.create(author=author, status=Campaign.Status.DRAFT, **fields)
        _save_variants(campaign, variants)
        _audit(
            campaign,
            AuditEvent.Action.CAMPAIGN_CREATED,
            actor=author,
            request=request,
            audience=campaign.audience.get("type"),
            variants=[v["name"] for v in variants or []],
        )
    return campaign


def campaign_update(*, campaign: Campaign, changes: dict[str, Any], actor, request=None) -> Campaign:
    """Applies ``changes`` (the fields of :func:`campaign_create`). A campaign in review or approved but not
    yet sending goes back to draft: what was approved is not what will be sent any more."""
    _require(actor, CHANGE_PERMISSION, doing="edit campaigns")
    if not isinstance(changes, dict) or not changes:
        raise ValidationError("Nothing to change.", details={"changes": ["give at least one field to change"]})
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in Campaign.EDITABLE:
            raise ConflictError(
                f"The campaign is {campaign.status}; only a draft, in review or scheduled one can be edited."
            )
        fields, variants = clean(changes, base=campaign)
        before = current_values(campaign)
        for name, value in fields.items():
            setattr(campaign, name, value)
        previous_status = campaign.status
        returned = previous_status != Campaign.Status.DRAFT
        if returned:
            campaign.status = Campaign.Status.DRAFT
            campaign.approved_by = None
            campaign.approved_at = None
            campaign.submitted_at = None
            CampaignSend.objects.filter(campaign=campaign, status=CampaignSend.Status.PENDING).delete()
        campaign.save()
        _save_variants(campaign, variants)
        after = current_values(campaign)
        changed = sorted(key for key in after if before.get(key) != after.get(key))
        _audit(
            campaign,
            AuditEvent.Action.CAMPAIGN_UPDATED,
            actor=actor,
            request=request,
            changed=changed,
            returned_to_draft_from=previous_status if returned else None,
        )
    return campaign


def campaign_audience_upload(*, campaign: Campaign, data: bytes, actor, request=None) -> Campaign:
    """Replaces the audience with the LINE user ids of a CSV file; unknown and unfollowed ids are reported
    in ``audience_report`` (and skipped when sending)."""
    ids = audiences.parse_csv(data)
    return campaign_update(
        campaign=campaign,
        changes={"audience": {"type": audiences.USERS, "line_user_ids": ids}},
        actor=actor,
        request=request,
    )


def campaign_submit(*, campaign: Campaign, actor, request=None) -> Campaign:
    """draft → in_review. A narrowcast is checked against LINE's minimums first."""
    _require(actor, CHANGE_PERMISSION, doing="submit campaigns")
    if audiences.uses_line_targeting(campaign.audience):
        found = narrowcast.problems(campaign.audience)
        if found:
            raise ValidationError("LINE would refuse this narrowcast.", details=found)
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != Campaign.Status.DRAFT:
            raise ConflictError(f"The campaign is {campaign.status}; only a draft can be submitted.")
        campaign.status = Campaign.Status.IN_REVIEW
        campaign.submitted_at = timezone.now()
        campaign.save(update_fields=["status", "submitted_at", "updated_at"])
        estimate = selectors.recipient_estimate(campaign)
        _audit(campaign, AuditEvent.Action.CAMPAIGN_SUBMITTED, actor=actor, request=request, estimate=estimate)
    return campaign


def _first_send(campaign: Campaign, now) -> CampaignSend | None:
    if campaign.is_step:
        return None
    tz = schedules.zone(campaign.timezone)
    local = schedules.first_wall(send_at=campaign.send_at, recurrence=campaign.recurrence, tz=tz, now=now)
    if local is None:
        raise ConflictError(
            "The send time has passed (or the recurrence has no occurrence left); edit the schedule first.",
            details={"send_at": ["in the past"]},
        )
    due = schedules.due_at(local, tz=tz, local_time=campaign.local_time)
    return CampaignSend.objects.create(campaign=campaign, due_at=due)


def campaign_approve(*, campaign: Campaign, approver, comment: str = "", request=None) -> Campaign:
    """in_review → scheduled, by someone other than the author; the first send is due at its time."""
    _require(approver, APPROVE_PERMISSION, doing="approve campaigns")
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.author_id is not None and campaign.author_id == approver.pk:
            raise PermissionDeniedError("You wrote this campaign; someone else must approve it.")
        if campaign.status != Campaign.Status.IN_REVIEW:
            raise ConflictError(f"The campaign is {campaign.status}; only one in review can be approved.")
        now = timezone.now()
        campaign.status = Campaign.Status.SCHEDULED
        campaign.approved_by = approver
        campaign.approved_at = now
        campaign.review_comment = (comment or "")[:COMMENT_MAX_CHARS]
        campaign.save(update_fields=["status", "approved_by", "approved_at", "review_comment", "updated_at"])
        send = _first_send(campaign, now)
        _audit(
            campaign,
            AuditEvent.Action.CAMPAIGN_APPROVED,
            actor=approver,
            request=request,
            author=campaign.author.username if campaign.author else None,
            first_send_at=send.due_at.isoformat() if send else None,
            estimate=selectors.recipient_estimate(campaign),
            comment=campaign.review_comment,
        )
        _work_ready(campaign.pk)
    return campaign


def campaign_reject(*, campaign: Campaign, approver, comment: str, request=None) -> Campaign:
    """in_review → draft, with a comment for the author."""
    _require(approver, APPROVE_PERMISSION, doing="review campaigns")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Say what should change.", details={"comment": ["is required when sending back"]})
    if len(comment) > COMMENT_MAX_CHARS:
        raise ValidationError(
            "The comment is too long.", details={"comment": [f"at most {COMMENT_MAX_CHARS} characters"]}
        )
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != Campaign.Status.IN_REVIEW:
            raise ConflictError(f"The campaign is {campaign.status}; only one in review can be sent back.")
        campaign.status = Campaign.Status.DRAFT
        campaign.review_comment = comment
        campaign.submitted_at = None
        campaign.save(update_fields=["status", "review_comment", "submitted_at", "updated_at"])
        _audit(campaign, AuditEvent.Action.CAMPAIGN_REJECTED, actor=approver, request=request, comment=comment)
    return campaign


def campaign_pause(*, campaign: Campaign, actor, request=None) -> Campaign:
    """Stops sending within one chunk (each chunk reads the status before calling LINE)."""
    _require(actor, CHANGE_PERMISSION, APPROVE_PERMISSION, doing="pause campaigns")
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING):
            raise ConflictError(f"The campaign is {campaign.status}; only a scheduled or sending one can be paused.")
        paused_from = campaign.status
        campaign.status = Campaign.Status.PAUSED
        campaign.save(update_fields=["status", "updated_at"])
        _audit(campaign, AuditEvent.Action.CAMPAIGN_PAUSED, actor=actor, request=request, paused_from=paused_from)
    return campaign


def campaign_resume(*, campaign: Campaign, actor, request=None) -> Campaign:
    _require(actor, CHANGE_PERMISSION, APPROVE_PERMISSION, doing="resume campaigns")
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != Campaign.Status.PAUSED:
            raise ConflictError(f"The campaign is {campaign.status}; only a paused one can be resumed.")
        active = CampaignSend.objects.filter(campaign=campaign, status__in=lifecycle.ACTIVE_SENDS).exists()
        campaign.status = Campaign.Status.SENDING if active else Campaign.Status.SCHEDULED
        campaign.save(update_fields=["status", "updated_at"])
        _audit(campaign, AuditEvent.Action.CAMPAIGN_RESUMED, actor=actor, request=request)
        _work_ready(campaign.pk)
    return campaign


def campaign_cancel(*, campaign: Campaign, actor, request=None) -> Campaign:
    """Stops the campaign for good: open chunks are cancelled (within one chunk), held recipients skipped."""
    _require(actor, CHANGE_PERMISSION, APPROVE_PERMISSION, doing="cancel campaigns")
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status in Campaign.FINAL:
            raise ConflictError(f"The campaign is already {campaign.status}.")
        cancelled_from = campaign.status
        campaign.status = Campaign.Status.CANCELLED
        campaign.save(update_fields=["status", "updated_at"])
        stopped = 0
        for send in CampaignSend.objects.select_for_update().filter(
            campaign=campaign, status__in=lifecycle.ACTIVE_SENDS
        ):
            stopped += lifecycle.stop_open_work(
                send, recipient_status=CampaignRecipient.Status.SKIPPED, reason=CampaignRecipient.Reason.CANCELLED
            )
            CampaignSend.objects.filter(pk=send.pk).update(
                status=CampaignSend.Status.CANCELLED, finished_at=timezone.now()
            )
        CampaignSend.objects.filter(campaign=campaign, status=CampaignSend.Status.PENDING).update(
            status=CampaignSend.Status.CANCELLED
        )
        StepEnrolment.objects.filter(campaign=campaign, status=StepEnrolment.Status.WAITING).update(
            status=StepEnrolment.Status.CANCELLED
        )
        _audit(
            campaign,
            AuditEvent.Action.CAMPAIGN_CANCELLED,
            actor=actor,
            request=request,
            cancelled_from=cancelled_from,
            recipients_not_sent=stopped,
        )
    return campaign
