"""Status changes of sends and campaigns that delivery itself causes: finishing, failing, cancelling.

Every campaign status change made here is audited (actor: the system), as the ones people make are.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from core.logging import get_logger
from richmessages.campaigns.models import Campaign, CampaignChunk, CampaignRecipient, CampaignSend, StepEnrolment

log = get_logger(__name__)

# Chunks of a campaign in these states may go to LINE; anything else (draft, in review, paused, ...) may not.
SENDABLE = (Campaign.Status.SCHEDULED, Campaign.Status.SENDING)
ACTIVE_SENDS = (CampaignSend.Status.PREPARING, CampaignSend.Status.SENDING)


def may_send(campaign: Campaign) -> bool:
    """The send path's own four-eyes check: nothing unapproved, paused or stopped reaches LINE."""
    return campaign.status in SENDABLE and campaign.is_approved


def not_sendable_reason(campaign: Campaign) -> str:
    if not campaign.is_approved:
        return "The campaign is not approved; nothing was sent."
    return f"The campaign is {campaign.status}; nothing more is sent."


def record(campaign: Campaign, action: str, **details) -> None:
    audit.record(action=action, target=f"campaign:{campaign.pk}", details={"name": campaign.name, **details})


def _set_campaign_status(campaign_id: int, status: str, *, from_statuses, **fields) -> Campaign | None:
    updated = Campaign.objects.filter(pk=campaign_id, status__in=from_statuses).update(status=status, **fields)
    return Campaign.objects.get(pk=campaign_id) if updated else None


def stop_open_work(send: CampaignSend, *, recipient_status: str, reason: str) -> int:
    """Cancels a send's pending chunks and settles their recipients and the held ones; returns how many."""
    now = timezone.now()
    open_chunks = CampaignChunk.objects.filter(send=send, status=CampaignChunk.Status.PENDING)
    chunk_ids = list(open_chunks.values_list("pk", flat=True))
    open_chunks.update(status=CampaignChunk.Status.CANCELLED, updated_at=now)
    held = CampaignRecipient.objects.filter(send=send, status=CampaignRecipient.Status.HELD).update(
        status=recipient_status, reason=reason
    )
    in_chunks = CampaignRecipient.objects.filter(
        chunk_id__in=chunk_ids, status=CampaignRecipient.Status.PENDING
    ).update(status=recipient_status, reason=reason)
    counter = "failed" if recipient_status == CampaignRecipient.Status.FAILED else "skipped"
    CampaignSend.objects.filter(pk=send.pk).update(held=F("held") - held, **{counter: F(counter) + held + in_chunks})
    return held + in_chunks


def send_fail(send: CampaignSend, *, reason: str) -> None:
    """The send cannot go on (quota, LINE's monthly limit, a refused narrowcast): it and its campaign fail."""
    with transaction.atomic():
        locked = CampaignSend.objects.select_for_update().get(pk=send.pk)
        if locked.status in CampaignSend.FINAL:
            return
        stop_open_work(
            locked, recipient_status=CampaignRecipient.Status.FAILED, reason=CampaignRecipient.Reason.LINE_ERROR
        )
        CampaignSend.objects.filter(pk=send.pk).update(
            status=CampaignSend.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
        )
        campaign = _set_campaign_status(
            locked.campaign_id,
            Campaign.Status.FAILED,
            from_statuses=(*SENDABLE, Campaign.Status.PAUSED),
            failure_reason=reason[:2000],
        )
        if campaign is not None:
            CampaignSend.objects.filter(campaign=campaign, status=CampaignSend.Status.PENDING).update(
                status=CampaignSend.Status.CANCELLED
            )
            StepEnrolment.objects.filter(campaign=campaign, status=StepEnrolment.Status.WAITING).update(
                status=StepEnrolment.Status.CANCELLED
            )
            record(campaign, AuditEvent.Action.CAMPAIGN_FAILED, send=send.pk, reason=reason)
    log.error("campaign_send_failed", send=send.pk, campaign=send.campaign_id, reason=reason)


def _looks_done(send_id: int) -> bool:
    """The conditions of :func:`send_finish_if_done`, read without a lock: every chunk of a send asks once it
    committed, so the last to commit sees all the others, and only that one need lock the send's row."""
    open_chunks = CampaignChunk.objects.filter(send_id=OuterRef("pk"), status__in=CampaignChunk.OPEN)
    return (
        CampaignSend.objects.filter(
            pk=send_id, status=CampaignSend.Status.SENDING, released=True, prepared=True, held__lte=0
        )
        .exclude(Exists(open_chunks))
        .exists()
    )


def send_finish_if_done(send_id: int) -> bool:
    """Marks a released and prepared send done once no chunk is open and nobody is held; moves its campaign on."""
    if not _looks_done(send_id):
        return False
    with transaction.atomic():
        send = CampaignSend.objects.select_for_update().get(pk=send_id)
        if send.status != CampaignSend.Status.SENDING or not send.released or not send.prepared:
            return False
        if send.held > 0 or CampaignChunk.objects.filter(send=send, status__in=CampaignChunk.OPEN).exists():
            return False
        if send.method == CampaignSend.Method.NARROWCAST and send.narrowcast_phase != "succeeded":
            return False
        CampaignSend.objects.filter(pk=send.pk).update(status=CampaignSend.Status.DONE, finished_at=timezone.now())
        campaign = Campaign.objects.select_for_update().get(pk=send.campaign_id)
        if campaign.status == Campaign.Status.SENDING:
            campaign_after_send(campaign)
        if send.kind == CampaignSend.Kind.SCHEDULED:
            record(
                campaign,
                AuditEvent.Action.CAMPAIGN_SEND_FINISHED,
                send=send.pk,
                recipients=send.recipients,
                sent=send.sent,
                failed=send.failed,
                skipped=send.skipped,
                status=campaign.status,
            )
    return True


def campaign_after_send(campaign: Campaign) -> None:
    """After a send ended: another occurrence or step messages to come (scheduled), or done (sent)."""
    if CampaignSend.objects.filter(campaign=campaign, status__in=ACTIVE_SENDS).exists():
        return
    more_to_come = (
        campaign.is_step or CampaignSend.objects.filter(campaign=campaign, status=CampaignSend.Status.PENDING).exists()
    )
    status = Campaign.Status.SCHEDULED if more_to_come else Campaign.Status.SENT
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(status=status)
    campaign.status = status
