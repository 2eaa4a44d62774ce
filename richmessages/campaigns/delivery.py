"""Sending to LINE exactly once: a chunk per multicast call, or one broadcast or narrowcast per send.

A chunk's recipients and its ``X-Line-Retry-Key`` are stored before LINE is ever called, so every attempt of
a chunk (a retry after a 5xx or a timeout, a task run again after a worker died) repeats the same request:
LINE answers 409 with ``x-line-accepted-request-id`` to a repeat it had accepted, and that counts as sent.
Marking a chunk sent is one conditional update in the same transaction as its recipients, the send's
counters and the DELIVERED events, so two runs of one chunk record it once.

Before each call the chunk reads its campaign: paused leaves the chunk for the resume, cancelled or failed
cancels it, and anything not approved is never sent (the API is not the only guard of four eyes).

Calls share one token bucket in Redis (``CAMPAIGN_MULTICAST_PER_SECOND``, under LINE's 200 multicasts a
second per channel) whatever the number of workers. LINE's 5xx and 429 are retried with backoff by
``with_retries``; "You have reached your monthly limit" is not retried: the campaign fails with that reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import Event
from analytics.services import events_record_bulk, events_record_from_query
from conversations.models import LineUser
from core.errors import LineApiError, RateLimitedError
from core.line.client import MonthlyLimitError, SendResult, get_line_client, with_retries
from core.logging import get_logger
from core.redis import get_redis
from richmessages.campaigns import lifecycle, metrics
from richmessages.campaigns.models import Campaign, CampaignChunk, CampaignRecipient, CampaignSend

log = get_logger(__name__)

Chunk = CampaignChunk.Status
MONTHLY_LIMIT_REASON = (
    "LINE refused to send: the channel has reached its monthly message limit. "
    "Nothing more is sent; raise the limit in LINE Official Account Manager or wait for next month."
)
BUCKET = "campaigns:multicast"
MARK_BATCH = 5000


def _take_token() -> None:
    rate = settings.CAMPAIGN_MULTICAST_PER_SECOND
    if not get_redis().acquire_token(BUCKET, rate=rate, burst=max(1, int(rate)), timeout=10.0):
        raise RateLimitedError("No multicast slot within 10 s; the chunk is tried again shortly.", retry_after=1)


def _events(pks: list[int], *, campaign_id: int, variant: str, rich_message, now, request_id: str, method: str) -> None:
    events_record_bulk(
        type=Event.Type.DELIVERED,
        line_user_ids=pks,
        occurred_at=now,
        campaign_id=campaign_id,
        variant=variant,
        rich_message_id=rich_message.pk,
        template_version_id=rich_message.template_version_id,
        props={"line_request_id": request_id, "method": method},
    )


def _recipients_mark_sent(chunk: CampaignChunk, *, now, request_id: str) -> int:
    """The chunk's pending recipients become sent, each with its DELIVERED event: one statement, whatever the
    chunk's size; returns how many."""
    table = CampaignRecipient._meta.db_table
    return events_record_from_query(
        type=Event.Type.DELIVERED,
        line_users_sql=(
            f"UPDATE {table} SET status = %s, sent_at = %s "  # noqa: S608 - the table name is ours
            "WHERE chunk_id = %s AND status = %s RETURNING line_user_id"
        ),
        params=[CampaignRecipient.Status.SENT, now, chunk.pk, CampaignRecipient.Status.PENDING],
        occurred_at=now,
        campaign_id=chunk.send.campaign_id,
        variant=chunk.variant,
        rich_message_id=chunk.rich_message_id,
        template_version_id=chunk.rich_message.template_version_id,
        props={"line_request_id": request_id, "method": "multicast"},
    )


def chunk_mark_sent(chunk: CampaignChunk, result: SendResult) -> bool:
    """Records a chunk as sent once; False if another run already did."""
    now = timezone.now()
    with transaction.atomic():
        updated = CampaignChunk.objects.filter(pk=chunk.pk, status__in=CampaignChunk.OPEN).update(
            status=Chunk.SENT, line_request_id=result.request_id[:64], duplicate=result.duplicate, sent_at=now, error=""
        )
        if not updated:
            return False
        sent = _recipients_mark_sent(chunk, now=now, request_id=result.request_id)
        # Last, so the send's row, which every chunk of the send updates, is locked only until the commit.
        CampaignSend.objects.filter(pk=chunk.send_id).update(sent=F("sent") + sent)
        metrics.count_sent("multicast", sent, duplicate=result.duplicate)
    log.info("campaign_chunk_sent", chunk=chunk.pk, size=sent, duplicate=result.duplicate)
    return True


def chunk_mark_failed(chunk: CampaignChunk, error: str) -> bool:
    with transaction.atomic():
        updated = CampaignChunk.objects.filter(pk=chunk.pk, status__in=CampaignChunk.OPEN).update(
            status=Chunk.FAILED, error=error[:2000]
        )
        if not updated:
            return False
        failed = CampaignRecipient.objects.filter(chunk_id=chunk.pk, status=CampaignRecipient.Status.PENDING).update(
            status=CampaignRecipient.Status.FAILED, reason=CampaignRecipient.Reason.LINE_ERROR
        )
        CampaignSend.objects.filter(pk=chunk.send_id).update(failed=F("failed") + failed)
    log.warning("campaign_chunk_failed", chunk=chunk.pk, error=error[:200])
    return True


def _cancel(chunk: CampaignChunk) -> None:
    with transaction.atomic():
        if not CampaignChunk.objects.filter(pk=chunk.pk, status=Chunk.PENDING).update(status=Chunk.CANCELLED):
            return
        skipped = CampaignRecipient.objects.filter(chunk_id=chunk.pk, status=CampaignRecipient.Status.PENDING).update(
            status=CampaignRecipient.Status.SKIPPED, reason=CampaignRecipient.Reason.CANCELLED
        )
        CampaignSend.objects.filter(pk=chunk.send_id).update(skipped=F("skipped") + skipped)


def _line_user_ids(chunk_id: int) -> list[str]:
    """LINE's ids of a chunk's recipients, each looked up by its pk: a join would let the planner, misled by
    the statistics of a table that grows by a million rows during a send, hash every LINE user per chunk."""
    recipients, users = CampaignRecipient._meta.db_table, LineUser._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT u.line_user_id FROM {users} u WHERE u.id = r.line_user_id) "  # noqa: S608 - our tables
            f"FROM {recipients} r WHERE r.chunk_id = %s ORDER BY r.id",
            [chunk_id],
        )
        return [row[0] for row in cursor.fetchall() if row[0]]


def chunk_deliver(chunk_id: int) -> str:
    """Sends one chunk unless its campaign says otherwise. Safe to run twice, or concurrently.

    Returns what happened: sent, already, paused, cancelled, refused, not_ready, failed or missing. Raises
    LineApiError (retryable) or RateLimitedError when LINE cannot take it now: the caller tries later.
    """
    chunk = CampaignChunk.objects.select_related("send__campaign", "rich_message").filter(pk=chunk_id).first()
    if chunk is None:
        return "missing"
    if chunk.status not in CampaignChunk.OPEN:
        return "already"
    send, campaign = chunk.send, chunk.send.campaign
    if send.status in CampaignSend.FINAL or campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.FAILED):
        _cancel(chunk)
        lifecycle.send_finish_if_done(send.pk)
        return "cancelled"
    if campaign.status == Campaign.Status.PAUSED:
        return "paused"
    if not lifecycle.may_send(campaign):
        log.error("campaign_chunk_refused_unapproved", chunk=chunk.pk, campaign=campaign.pk, status=campaign.status)
        return "refused"
    if not send.released:
        return "not_ready"
    if not CampaignChunk.objects.filter(pk=chunk.pk, status__in=CampaignChunk.OPEN).update(
        status=Chunk.SENDING, attempts=F("attempts") + 1
    ):
        return "cancelled"
    user_ids = _line_user_ids(chunk.pk)
    if not user_ids:
        # Everyone in it left LINE's reach meanwhile (erased users): nothing to send.
        chunk_mark_sent(chunk, SendResult(request_id=""))
        lifecycle.send_finish_if_done(send.pk)
        return "sent"
    client = get_line_client()

    def call() -> SendResult:
        _take_token()
        return client.multicast(user_ids, [chunk.rich_message.flex], retry_key=chunk.retry_key)

    try:
        result = with_retries(call)
    except MonthlyLimitError:
        chunk_mark_failed(chunk, MONTHLY_LIMIT_REASON)
        lifecycle.send_fail(send, reason=MONTHLY_LIMIT_REASON)
        return "failed"
    except LineApiError as exc:
        if exc.retryable:
            raise
        chunk_mark_failed(chunk, f"{exc.message} {(exc.details or {}).get('body', '')}".strip())
        lifecycle.send_finish_if_done(send.pk)
        return "failed"
    chunk_mark_sent(chunk, result)
    lifecycle.send_finish_if_done(send.pk)
    return "sent"


def chunk_give_up(chunk_id: int, error: str) -> None:
    """After every retry failed: the chunk's recipients count as failed, and the send moves on."""
    chunk = CampaignChunk.objects.select_related("send").filter(pk=chunk_id).first()
    if chunk is not None and chunk_mark_failed(chunk, error):
        lifecycle.send_finish_if_done(chunk.send_id)


# --- one call for everyone ------------------------------------------------------------------------
def _mark_everyone_sent(send: CampaignSend, request_id: str) -> int:
    """Broadcast: every pending recipient row becomes sent, in keyset batches (a rerun continues)."""
    campaign = send.campaign
    rich_message = campaign.rich_message
    total = 0
    while True:
        now = timezone.now()
        with transaction.atomic():
            batch = list(
                CampaignRecipient.objects.select_for_update(skip_locked=True)
                .filter(send=send, status=CampaignRecipient.Status.PENDING)
                .order_by("pk")
                .values_list("pk", "line_user_id")[:MARK_BATCH]
            )
            if not batch:
                return total
            CampaignRecipient.objects.filter(pk__in=[pk for pk, _ in batch]).update(
                status=CampaignRecipient.Status.SENT, sent_at=now
            )
            CampaignSend.objects.filter(pk=send.pk).update(sent=F("sent") + len(batch))
            metrics.count_sent("broadcast", len(batch))
            _events(
                [user for _, user in batch],
                campaign_id=campaign.pk,
                variant="",
                rich_message=rich_message,
                now=now,
                request_id=request_id,
                method="broadcast",
            )
        total += len(batch)


def broadcast_deliver(send_id: int) -> str:
    """Sends a broadcast send's one call (retry key stored with the send) and records its recipients."""
    send = CampaignSend.objects.select_related("campaign__rich_message").get(pk=send_id)
    campaign = send.campaign
    if send.status != CampaignSend.Status.SENDING or send.method != CampaignSend.Method.BROADCAST:
        return "already"
    if campaign.status == Campaign.Status.PAUSED:
        return "paused"
    if not lifecycle.may_send(campaign):
        lifecycle.send_fail(send, reason=lifecycle.not_sendable_reason(campaign))
        return "refused"
    if not send.line_request_id:
        client = get_line_client()
        try:
            result = with_retries(lambda: client.broadcast([campaign.rich_message.flex], retry_key=send.retry_key))
        except MonthlyLimitError:
            lifecycle.send_fail(send, reason=MONTHLY_LIMIT_REASON)
            return "failed"
        except LineApiError as exc:
            if exc.retryable:
                raise
            lifecycle.send_fail(send, reason=f"LINE refused the broadcast: {exc.message}")
            return "failed"
        send.line_request_id = result.request_id[:64] or "accepted"
        CampaignSend.objects.filter(pk=send.pk).update(line_request_id=send.line_request_id)
    _mark_everyone_sent(send, send.line_request_id)
    lifecycle.send_finish_if_done(send.pk)
    return "sent"
