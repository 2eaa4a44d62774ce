"""Turning a claimed send into recipient rows and chunks, in parts prepared in parallel, batch by batch.

The send's coordinator (:func:`send_prepare`) splits the audience into ranges of ``LineUser`` pk of about
``CAMPAIGN_PART_SIZE`` users (:class:`CampaignSendPart`, the last one open-ended), each prepared by a task of its own
(:func:`send_part_prepare`): several workers prepare one send at once. A part walks its range by pk (keyset
pagination: never all in memory); each batch is decided by the guards and written in one transaction with the
part's cursor, so a rerun after a crash resumes at the cursor and cannot write a batch twice (the part row is
locked and its cursor compared).

LINE's quota is checked before the first message leaves. When the audience's size (at least what the send
needs) fits in what is left, the send is released before any part runs and each batch's chunks are queued as
soon as the batch is committed: preparation and sending overlap. Otherwise, and when the send may turn out to
be one LINE broadcast (which only the whole preparation can tell), the chunks wait until every part is done and
the exact count was checked: a send larger than the quota is refused before any message leaves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.line.client import get_line_client, with_retries
from core.logging import get_logger
from richmessages.campaigns import audiences, batch_sql, guards, lifecycle
from richmessages.campaigns.batches import content_of, write_batch
from richmessages.campaigns.models import Campaign, CampaignChunk, CampaignSend, CampaignSendPart

log = get_logger(__name__)

BATCH_SIZE = 5000


# --- the coordinator ------------------------------------------------------------------------------------
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


def _may_broadcast(campaign: Campaign, send: CampaignSend) -> bool:
    """Whether the send could still turn out to be one broadcast (see :func:`broadcast_fits`)."""
    if campaign.audience.get("type") != audiences.ALL_FOLLOWERS or send.kind != CampaignSend.Kind.SCHEDULED:
        return False
    return not guards.Rules.of(campaign, send).per_user


def broadcast_fits(campaign: Campaign, send: CampaignSend) -> bool:
    """A LINE broadcast reaches every follower alike: only when the audience is all followers, nothing
    treats two of them differently and nobody was skipped or held (an opted-out user, say)."""
    if not _may_broadcast(campaign, send):
        return False
    return send.skipped == 0 and send.held == 0 and send.recipients > 0


def _candidates_sql(campaign: Campaign, *fields: str) -> tuple[str, tuple]:
    return audiences.candidates(campaign.audience).values_list(*fields).query.sql_with_params()


def _part_ends(campaign: Campaign) -> list[int]:
    """Every CAMPAIGN_PART_SIZE-th candidate pk, in order (one scan of the audience): the upper ends of all
    parts but the last."""
    sql, params = _candidates_sql(campaign, "pk")
    size = max(1, int(settings.CAMPAIGN_PART_SIZE))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pk FROM (SELECT q.pk, row_number() OVER (ORDER BY q.pk) AS n FROM ({sql}) q) r "  # noqa: S608
            f"WHERE n %% {size} = 0 ORDER BY pk",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _create_parts(send_id: int) -> bool:
    """Splits the send's audience into parts, once (a rerun finds them); False if the send is not preparing."""
    with transaction.atomic():
        send = CampaignSend.objects.select_for_update().select_related("campaign").get(pk=send_id)
        if send.status not in lifecycle.ACTIVE_SENDS:
            return False
        if send.parts.exists():
            return True
        starts = [0, *_part_ends(send.campaign)]
        ends = [*starts[1:], None]
        CampaignSendPart.objects.bulk_create(
            [
                CampaignSendPart(send=send, after_pk=start, last_pk=end, cursor=start)
                for start, end in zip(starts, ends, strict=True)
            ]
        )
    log.info("campaign_send_parts_created", send=send_id, parts=len(starts))
    return True


def _release_early(campaign: Campaign, send: CampaignSend) -> bool:
    """Releases a multicast send before its preparation when the audience's size already fits LINE's quota."""
    if _may_broadcast(campaign, send):
        return False
    if quota_refusal(audiences.candidates(campaign.audience).count()):
        return False
    return bool(
        CampaignSend.objects.filter(pk=send.pk, status=CampaignSend.Status.PREPARING).update(
            status=CampaignSend.Status.SENDING, released=True, method=CampaignSend.Method.MULTICAST
        )
    )


def send_prepare(send_id: int) -> str:
    """Moves a claimed send on; safe to run again at any time.

    Returns "parts" (parts to run: see :func:`part_ids_to_run`), "released" (chunks may be queued: see
    :func:`chunk_ids_to_queue`), "broadcast" or "narrowcast" (one call for everyone), "paused" (the resume
    runs it again), or "stopped" (nothing to do, or refused).
    """
    send = CampaignSend.objects.select_related("campaign").get(pk=send_id)
    campaign = send.campaign
    if send.status not in lifecycle.ACTIVE_SENDS or (send.prepared and send.status == CampaignSend.Status.SENDING):
        return "stopped"
    if campaign.status == Campaign.Status.PAUSED:
        return "paused"
    if not lifecycle.may_send(campaign):
        lifecycle.send_fail(send, reason=lifecycle.not_sendable_reason(campaign))
        return "stopped"
    if audiences.uses_line_targeting(campaign.audience):
        if send.status != CampaignSend.Status.PREPARING:
            return "stopped"
        CampaignSend.objects.filter(pk=send.pk).update(method=CampaignSend.Method.NARROWCAST)
        return "narrowcast"
    if not send.parts.exists():
        if send.status == CampaignSend.Status.PREPARING:
            _release_early(campaign, send)
        return "parts" if _create_parts(send.pk) else "stopped"
    if not send.prepared:
        return "parts"
    return _release(campaign, send)


def _release(campaign: Campaign, send: CampaignSend) -> str:
    """Every part is done and the send was not released early: the exact count against the quota, then
    multicast chunks or one broadcast."""
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


def part_ids_to_run(send_id: int) -> list[int]:
    return list(CampaignSendPart.objects.filter(send_id=send_id, done=False).values_list("pk", flat=True))


def chunk_ids_to_queue(send_id: int, *, after: int = 0, limit: int = 1000) -> list[int]:
    """Pending chunks of a send, in id order from ``after`` (keyset), to queue ``limit`` at a time."""
    return list(
        CampaignChunk.objects.filter(send_id=send_id, status=CampaignChunk.Status.PENDING, pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- one part -------------------------------------------------------------------------------------------
def _send_shared(send_id: int) -> CampaignSend:
    """The send under a key-share lock: parts write batches of one send at once, while a cancel or a failure
    (``FOR UPDATE``) waits for the batches in flight, and every later batch sees it."""
    if connection.vendor != "postgresql":
        return CampaignSend.objects.select_for_update().get(pk=send_id)
    table = CampaignSend._meta.db_table
    return CampaignSend.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR KEY SHARE", [send_id])[0]  # noqa: S608


def _batch(campaign: Campaign, after_pk: int, last_pk: int | None) -> list[tuple]:
    """The next candidates of a range as plain rows (guards.USER_FIELDS), without the ORM's per-row work."""
    users = audiences.candidates(campaign.audience).filter(pk__gt=after_pk)
    if last_pk is not None:
        users = users.filter(pk__lte=last_pk)
    sql, params = users.values_list(*guards.USER_FIELDS)[:BATCH_SIZE].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _advance(part: CampaignSendPart, cursor: int) -> None:
    CampaignSendPart.objects.filter(pk=part.pk).update(cursor=cursor, updated_at=timezone.now())


def _part_batch(
    part_id: int, campaign: Campaign, rules: guards.Rules, content: dict[str, int], on_chunks, now: datetime
) -> str:
    with transaction.atomic():
        part = CampaignSendPart.objects.select_for_update().get(pk=part_id)
        if part.done:
            return "stopped"
        send = _send_shared(part.send_id)
        if send.status not in lifecycle.ACTIVE_SENDS:
            return "stopped"
        # The send's counters are updated last: parts and chunks all update that one row, and its lock is
        # held until the commit.
        if batch_sql.decidable(rules):
            written = batch_sql.write_batch(
                send, campaign, rules, after_pk=part.cursor, last_pk=part.last_pk, limit=BATCH_SIZE, now=now
            )
            if written.last_pk is None:
                return "done"
            _advance(part, written.last_pk)
            CampaignSend.objects.filter(pk=send.pk).update(
                recipients=F("recipients") + written.recipients, skipped=F("skipped") + written.skipped
            )
            chunk_ids = written.chunk_ids
        else:
            rows = _batch(campaign, part.cursor, part.last_pk)
            if not rows:
                return "done"
            _advance(part, rows[-1][0])
            chunk_ids = write_batch(send, guards.evaluate(rows, rules, now=now), content)
        if send.released and on_chunks is not None:
            on_chunks(chunk_ids)
    return "more"


def _part_finish(part_id: int) -> str:
    """Marks a part done; the last one marks the send prepared (each takes the send's row lock, so of two
    parts ending at once the second sees the first)."""
    with transaction.atomic():
        part = CampaignSendPart.objects.select_for_update().get(pk=part_id)
        send = CampaignSend.objects.select_for_update(no_key=True).get(pk=part.send_id)
        CampaignSendPart.objects.filter(pk=part.pk).update(done=True, updated_at=timezone.now())
        if send.status not in lifecycle.ACTIVE_SENDS:
            return "stopped"
        if CampaignSendPart.objects.filter(send_id=send.pk, done=False).exclude(pk=part.pk).exists():
            return "done"
        CampaignSend.objects.filter(pk=send.pk).update(prepared=True)
    if send.released:
        lifecycle.send_finish_if_done(send.pk)
        return "complete"
    return "prepared"


def send_part_prepare(
    part_id: int,
    *,
    on_chunks: Callable[[list[int]], None] | None = None,
    time_budget: float = 20.0,
    now: datetime | None = None,
) -> str:
    """Writes a part's batches for up to ``time_budget`` seconds; ``on_chunks`` is given the chunk ids of each
    batch of a released send, inside the batch's transaction.

    Returns "more" (call again), "done" (this part is; others are not), "prepared" (every part is, and the
    coordinator decides the rest), "complete" (every part is, and the send, released early, was checked for
    being done), or "stopped" (the send is over, or the part was done already).
    """
    part = CampaignSendPart.objects.select_related("send__campaign").filter(pk=part_id).first()
    if part is None or part.done:
        return "stopped"
    campaign = part.send.campaign
    rules, content = guards.Rules.of(campaign, part.send), content_of(campaign)
    started = time.monotonic()
    while True:
        outcome = _part_batch(part.pk, campaign, rules, content, on_chunks, now or timezone.now())
        if outcome != "more":
            break
        if time.monotonic() - started > time_budget:
            return "more"
    return _part_finish(part.pk) if outcome == "done" else outcome


def prepare_batch(send_id: int, *, now: datetime | None = None) -> bool:
    """Writes the next batch of a preparing send (its first unfinished part; the parts are made first if need
    be); True while there is more to do."""
    if not _create_parts(send_id):
        return False
    part = CampaignSendPart.objects.filter(send_id=send_id, done=False).select_related("send__campaign").first()
    if part is None:
        return False
    campaign = part.send.campaign
    rules = guards.Rules.of(campaign, part.send)
    outcome = _part_batch(part.pk, campaign, rules, content_of(campaign), None, now or timezone.now())
    if outcome == "done":
        return _part_finish(part.pk) == "done"
    return outcome == "more"


def send_id_of_part(part_id: int) -> int:
    return CampaignSendPart.objects.values_list("send_id", flat=True).get(pk=part_id)
