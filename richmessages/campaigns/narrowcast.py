"""LINE narrowcast: LINE audiences and demographic filters, where LINE chooses the recipients.

One call per send with the send's stored retry key, then LINE's progress endpoint is polled (a task, again
and again) until it is final. LINE's minimums come back as clear errors: before submitting, an audience of
fewer than 50 users or a demographic filter on fewer than 100 followers is refused; after sending, LINE's
progress ``errorCode`` is turned into a sentence on the failed campaign.

Our own opt-outs still hold: users who opted out are uploaded as an audience that the narrowcast excludes.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conversations.models import LineUser
from core.errors import LineApiError
from core.line.client import MonthlyLimitError, get_line_client, with_retries
from core.logging import get_logger
from richmessages.campaigns import audiences, lifecycle, metrics
from richmessages.campaigns.models import CampaignSend

log = get_logger(__name__)

MIN_AUDIENCE = 50
MIN_REACH = 100
EXCLUSION_MAX = 10_000
ERROR_REASONS = {
    1: "LINE had an internal error while sending the narrowcast.",
    2: (
        "LINE found too few recipients: a demographic filter needs a targeted reach of at least "
        f"{MIN_REACH} followers, and the audience must contain someone to send to."
    ),
    3: "LINE refused a repeated narrowcast request.",
    4: f"LINE refused an audience of fewer than {MIN_AUDIENCE} users (its minimum for a narrowcast).",
    5: "LINE cancelled the narrowcast so that it would not reach only part of the audience.",
}


def problems(audience: dict) -> dict[str, list[str]]:
    """LINE's minimums, checked before a narrowcast campaign goes to review ({} when it may go)."""
    found: dict[str, list[str]] = {}
    client = get_line_client()
    for group_id in [*audience.get("audience_group_ids", []), *audience.get("exclude_audience_group_ids", [])]:
        try:
            group = with_retries(lambda group_id=group_id: client.audience_group(group_id))
        except LineApiError as exc:
            if exc.retryable:
                raise
            found.setdefault("audience.audience_group_ids", []).append(f"LINE does not know audience {group_id}")
            continue
        if group.audience_count < MIN_AUDIENCE:
            found.setdefault("audience.audience_group_ids", []).append(
                f"audience {group_id} has {group.audience_count} users; LINE needs at least {MIN_AUDIENCE}"
            )
    if audience.get("demographic"):
        reach = LineUser.objects.filter(status=LineUser.Status.ACTIVE).count()
        if reach < MIN_REACH:
            found.setdefault("audience.demographic", []).append(
                f"the account reaches {reach} followers; LINE needs at least {MIN_REACH} for a demographic filter"
            )
    return found


def _exclusion_group(send: CampaignSend) -> list[int]:
    """An audience of the users who opted out (so the narrowcast skips them), created once per send."""
    if send.line_audience_group_id:
        return [send.line_audience_group_id]
    opted_out = list(
        LineUser.objects.filter(opted_out_at__isnull=False)
        .order_by("pk")
        .values_list("line_user_id", flat=True)[: EXCLUSION_MAX + 1]
    )
    if not opted_out:
        return []
    if len(opted_out) > EXCLUSION_MAX:
        log.warning("campaign_narrowcast_exclusion_truncated", send=send.pk, limit=EXCLUSION_MAX)
    client = get_line_client()
    group_id = with_retries(
        lambda: client.create_audience_group(f"campaign {send.campaign_id} opt-outs", opted_out[:EXCLUSION_MAX])
    )
    CampaignSend.objects.filter(pk=send.pk).update(line_audience_group_id=group_id)
    send.line_audience_group_id = group_id
    return [group_id]


def narrowcast_start(send_id: int) -> str:
    """Sends a narrowcast send's one call; returns "started", "already", "paused", "refused" or "failed"."""
    send = CampaignSend.objects.select_related("campaign__rich_message").get(pk=send_id)
    campaign = send.campaign
    if send.method != CampaignSend.Method.NARROWCAST or send.status != CampaignSend.Status.PREPARING:
        return "already"
    if campaign.status == campaign.Status.PAUSED:
        return "paused"
    if not lifecycle.may_send(campaign):
        lifecycle.send_fail(send, reason=lifecycle.not_sendable_reason(campaign))
        return "refused"
    client = get_line_client()
    try:
        quota = with_retries(client.get_message_quota)
        if quota.limit is not None and with_retries(client.get_message_quota_consumption) >= quota.limit:
            lifecycle.send_fail(send, reason="Refused before sending: LINE's monthly quota has no messages left.")
            return "failed"
        recipient = audiences.line_recipient(campaign.audience, exclude_group_ids=_exclusion_group(send))
        result = with_retries(
            lambda: client.narrowcast(
                [campaign.rich_message.flex],
                retry_key=send.retry_key,
                recipient=recipient,
                demographic=campaign.audience.get("demographic"),
                limit=campaign.audience.get("limit"),
            )
        )
    except MonthlyLimitError:
        from richmessages.campaigns.delivery import MONTHLY_LIMIT_REASON

        lifecycle.send_fail(send, reason=MONTHLY_LIMIT_REASON)
        return "failed"
    except LineApiError as exc:
        if exc.retryable:
            raise
        lifecycle.send_fail(
            send, reason=f"LINE refused the narrowcast: {exc.message} {(exc.details or {}).get('body', '')}"
        )
        return "failed"
    with transaction.atomic():
        CampaignSend.objects.filter(pk=send.pk, status=CampaignSend.Status.PREPARING).update(
            status=CampaignSend.Status.SENDING,
            released=True,
            prepared=True,
            line_request_id=result.request_id[:64],
            narrowcast_phase="waiting",
        )
    return "started"


def narrowcast_poll(send_id: int) -> bool:
    """Reads LINE's progress of a narrowcast send once; True when it is final (and recorded)."""
    send = CampaignSend.objects.get(pk=send_id)
    if send.method != CampaignSend.Method.NARROWCAST or send.status != CampaignSend.Status.SENDING:
        return True
    client = get_line_client()
    progress = with_retries(lambda: client.narrowcast_progress(send.line_request_id))
    if not progress.is_final:
        CampaignSend.objects.filter(pk=send.pk).update(narrowcast_phase=progress.phase)
        return False
    if progress.phase == "succeeded":
        recorded = (
            CampaignSend.objects.filter(pk=send.pk)
            .exclude(narrowcast_phase="succeeded")
            .update(
                narrowcast_phase=progress.phase,
                recipients=progress.target_count or 0,
                sent=progress.success_count or 0,
                failed=progress.failure_count or 0,
                finished_at=timezone.now(),
            )
        )
        if recorded:
            metrics.count_sent("narrowcast", progress.success_count or 0)
        lifecycle.send_finish_if_done(send.pk)
        return True
    CampaignSend.objects.filter(pk=send.pk).update(narrowcast_phase=progress.phase)
    reason = ERROR_REASONS.get(progress.error_code or 0, "LINE could not send the narrowcast.")
    if progress.failed_description:
        reason = f"{reason} (LINE: {progress.failed_description})"
    lifecycle.send_fail(send, reason=reason)
    return True
