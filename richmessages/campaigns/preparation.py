"""Turning a claimed send into recipient rows and chunks, streamed from the database batch by batch.

The audience is walked by ``LineUser`` pk (keyset pagination: never all in memory). Each batch is decided by
the guards and written in one transaction: its chunks (at most 500 user ids, each with its retry key), its
recipient rows (PostgreSQL ``COPY``, ``bulk_create`` elsewhere), the send's counters and its cursor. A
rerun after a crash resumes at the cursor and cannot write a batch twice (the send row is locked and the
cursor compared). Only when every batch is written and LINE's remaining monthly quota covers the send are
the chunks queued: a send larger than the quota is refused before any message leaves.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import Event
from analytics.services import events_record_bulk
from core.line.client import get_line_client, with_retries
from core.logging import get_logger
from richmessages.campaigns import audiences, guards, lifecycle
from richmessages.campaigns.models import (
    MAX_CHUNK,
    Campaign,
    CampaignChunk,
    CampaignRecipient,
    CampaignSend,
)

log = get_logger(__name__)

BATCH_SIZE = 5000
RECIPIENT_COLUMNS = ("send_id", "line_user_id", "variant", "status", "reason", "chunk_id", "release_at", "sent_at")


def content_of(campaign: Campaign) -> dict[str, int]:
    """rich message id per variant name ("" when the campaign has one message)."""
    variants = {variant.name: variant.rich_message_id for variant in campaign.variants.all()}
    return variants or {"": campaign.rich_message_id}


def copy_recipients(rows: list[tuple]) -> None:
    """Writes recipient rows (in RECIPIENT_COLUMNS order) in one go: COPY on PostgreSQL."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = CampaignRecipient._meta.db_table
        columns = ", ".join(RECIPIENT_COLUMNS)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    CampaignRecipient.objects.bulk_create(
        [CampaignRecipient(**dict(zip(RECIPIENT_COLUMNS, row, strict=True))) for row in rows], batch_size=1000
    )


def chunks_for(send: CampaignSend, decisions: list[guards.Decision], content: dict[str, int]) -> dict[int, int]:
    """Creates the chunks of the pending decisions (at most MAX_CHUNK each, one variant each);
    returns line_user pk → chunk id."""
    by_variant: dict[str, list[int]] = defaultdict(list)
    for decision in decisions:
        if decision.status == CampaignRecipient.Status.PENDING:
            by_variant[decision.variant].append(decision.line_user_pk)
    planned = []
    for variant, pks in sorted(by_variant.items()):
        for start in range(0, len(pks), MAX_CHUNK):
            members = pks[start : start + MAX_CHUNK]
            chunk = CampaignChunk(send=send, variant=variant, rich_message_id=content[variant], size=len(members))
            planned.append((chunk, members))
    CampaignChunk.objects.bulk_create([chunk for chunk, _ in planned])
    return {pk: chunk.pk for chunk, members in planned for pk in members}


def count_of(decisions: list[guards.Decision]) -> dict[str, int]:
    counts = {"recipients": len(decisions), "skipped": 0, "held": 0}
    for decision in decisions:
        if decision.status == CampaignRecipient.Status.SKIPPED:
            counts["skipped"] += 1
        elif decision.status == CampaignRecipient.Status.HELD:
            counts["held"] += 1
    return counts


def write_batch(send: CampaignSend, decisions: list[guards.Decision], content: dict[str, int]) -> list[int]:
    """Chunks and recipient rows of one batch and the send's counters; returns the new chunk ids."""
    chunk_of = chunks_for(send, decisions, content)
    copy_recipients(
        [
            (send.pk, d.line_user_pk, d.variant, d.status, d.reason, chunk_of.get(d.line_user_pk), d.release_at, None)
            for d in decisions
        ]
    )
    held_out = [d.line_user_pk for d in decisions if d.reason == CampaignRecipient.Reason.HOLDOUT]
    # The holdout is the baseline of each variant's lift: analytics needs to know who was left out, and when.
    events_record_bulk(
        type=Event.Type.HOLDOUT, line_user_ids=held_out, occurred_at=timezone.now(), campaign_id=send.campaign_id
    )
    counts = count_of(decisions)
    CampaignSend.objects.filter(pk=send.pk).update(
        recipients=F("recipients") + counts["recipients"],
        skipped=F("skipped") + counts["skipped"],
        held=F("held") + counts["held"],
    )
    return sorted(set(chunk_of.values()))


def _batch(campaign: Campaign, after_pk: int) -> list[tuple]:
    users = audiences.candidates(campaign.audience).filter(pk__gt=after_pk)
    return list(users.values_list(*guards.USER_FIELDS)[:BATCH_SIZE])


def prepare_batch(send_id: int, *, now: datetime | None = None) -> bool:
    """Writes the next batch of a preparing send; True while there is more to do."""
    now = now or timezone.now()
    with transaction.atomic():
        send = CampaignSend.objects.select_for_update().select_related("campaign").get(pk=send_id)
        if send.status != CampaignSend.Status.PREPARING or send.prepared:
            return False
        campaign = send.campaign
        rows = _batch(campaign, send.cursor)
        if not rows:
            CampaignSend.objects.filter(pk=send.pk).update(prepared=True)
            return False
        decisions = guards.evaluate(rows, guards.Rules.of(campaign, send), now=now)
        write_batch(send, decisions, content_of(campaign))
        CampaignSend.objects.filter(pk=send.pk).update(cursor=rows[-1][0])
    return True


def quota_refusal(needed: int) -> str:
    """Why LINE's remaining monthly quota cannot carry ``needed`` messages ("" when it can)."""
    if needed <= 0:
        return ""
    client = get_line_client()
    quota = with_retries(client.get_message_quota)
    if quota.limit is None:
        return ""
    used = with_retries(client.get_message_quota_consumption)
    remaining = max(0, quota.limit - used)
    if needed > remaining:
        return (
            f"Refused before sending: LINE's monthly quota has {remaining} messages left "
            f"({used} of {quota.limit} used) and this send needs {needed}."
        )
    return ""


def send_prepare(send_id: int, *, time_budget: float = 20.0) -> str:
    """Prepares a claimed send for up to ``time_budget`` seconds.

    Returns "more" (call again), "released" (chunks may be queued: see :func:`chunk_ids_to_queue`),
    "broadcast" or "narrowcast" (one call for everyone), or "stopped" (nothing to do, or refused).
    """
    send = CampaignSend.objects.select_related("campaign").get(pk=send_id)
    campaign = send.campaign
    if send.status != CampaignSend.Status.PREPARING:
        return "stopped"
    if not lifecycle.may_send(campaign):
        lifecycle.send_fail(send, reason=lifecycle.not_sendable_reason(campaign))
        return "stopped"
    if audiences.uses_line_targeting(campaign.audience):
        CampaignSend.objects.filter(pk=send.pk).update(method=CampaignSend.Method.NARROWCAST)
        return "narrowcast"
    started = time.monotonic()
    while not send.prepared:
        if not prepare_batch(send.pk):
            break
        if time.monotonic() - started > time_budget:
            return "more"
    send.refresh_from_db()
    needed = send.recipients - send.skipped
    refusal = quota_refusal(needed)
    if refusal:
        lifecycle.send_fail(send, reason=refusal)
        return "stopped"
    method = CampaignSend.Method.MULTICAST
    if broadcast_fits(campaign, send):
        method = CampaignSend.Method.BROADCAST
    with transaction.atomic():
        updated = CampaignSend.objects.filter(pk=send.pk, status=CampaignSend.Status.PREPARING).update(
            status=CampaignSend.Status.SENDING, released=True, method=method
        )
    if not updated:
        return "stopped"
    if method == CampaignSend.Method.BROADCAST:
        # One broadcast replaces the chunks: they stay as the record of who was meant.
        CampaignChunk.objects.filter(send=send, status=CampaignChunk.Status.PENDING).update(
            status=CampaignChunk.Status.CANCELLED, error="sent by broadcast"
        )
        return "broadcast"
    lifecycle.send_finish_if_done(send.pk)
    return "released"


def broadcast_fits(campaign: Campaign, send: CampaignSend) -> bool:
    """A LINE broadcast reaches every follower alike: only when the audience is all followers, nothing
    treats two of them differently and nobody was skipped or held (an opted-out user, say)."""
    if campaign.audience.get("type") != audiences.ALL_FOLLOWERS or send.kind != CampaignSend.Kind.SCHEDULED:
        return False
    if guards.Rules.of(campaign, send).per_user:
        return False
    return send.skipped == 0 and send.held == 0 and send.recipients > 0


def chunk_ids_to_queue(send_id: int, *, after: int = 0, limit: int = 1000) -> list[int]:
    """Pending chunks of a send, in id order from ``after`` (keyset), to queue ``limit`` at a time."""
    return list(
        CampaignChunk.objects.filter(send_id=send_id, status=CampaignChunk.Status.PENDING, pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
