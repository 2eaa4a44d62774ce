"""Celery tasks of campaigns. Each takes ids, calls one service and is safe to run twice.

The beat runs four of them every minute for all campaigns together (CELERY_BEAT_SCHEDULE): claim due
sends, release held recipients, dispatch step messages, and queue again work whose task was lost.
Chunk tasks retry LINE's temporary failures with backoff; tasks are acknowledged late, so a worker killed
mid-chunk gives it back to the broker and the rerun repeats the stored retry key.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.dispatch import receiver

from core.errors import LineApiError, RateLimitedError
from core.logging import get_logger
from richmessages.campaigns import delivery, dispatch, lifecycle, narrowcast, preparation
from richmessages.campaigns.signals import campaign_work_ready

log = get_logger(__name__)

CHUNK_MAX_RETRIES = 8
NARROWCAST_POLL_SECONDS = 10
QUEUE_PAGE = 1000


def _apply(task, *args, countdown: float | None = None) -> None:
    options = {"queue": settings.CAMPAIGN_TASK_QUEUE} if settings.CAMPAIGN_TASK_QUEUE else {}
    if countdown:
        options["countdown"] = countdown
    transaction.on_commit(lambda: task.apply_async(args=args, **options))


def queue_chunks(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        _apply(chunk_deliver_task, chunk_id)


def queue_work(work: dispatch.Stalled) -> None:
    for send_id in work.prepare:
        _apply(send_prepare_task, send_id)
    for part_id in work.parts:
        _apply(send_part_prepare_task, part_id)
    for send_id in work.finish:
        transaction.on_commit(lambda send_id=send_id: lifecycle.send_finish_if_done(send_id))
    for send_id in work.broadcasts:
        _apply(broadcast_deliver_task, send_id)
    for send_id in work.narrowcasts:
        _apply(narrowcast_poll_task, send_id)
    queue_chunks(work.chunks)


# --- the beat's tasks -------------------------------------------------------------------------------
@shared_task(name="richmessages.campaigns.claim_due_sends")
def claim_due_sends() -> list[int]:
    send_ids = dispatch.sends_claim_due()
    for send_id in send_ids:
        _apply(send_prepare_task, send_id)
    return send_ids


@shared_task(name="richmessages.campaigns.release_held_recipients")
def release_held_recipients() -> int:
    chunk_ids, send_ids = dispatch.held_release()
    queue_chunks(chunk_ids)
    for send_id in send_ids:
        # Everyone released may have been skipped: no chunk will finish the send then.
        transaction.on_commit(lambda send_id=send_id: lifecycle.send_finish_if_done(send_id))
    return len(chunk_ids)


@shared_task(name="richmessages.campaigns.dispatch_step_messages")
def dispatch_step_messages() -> int:
    chunk_ids, send_ids = dispatch.steps_dispatch()
    queue_chunks(chunk_ids)
    for send_id in send_ids:
        transaction.on_commit(lambda send_id=send_id: lifecycle.send_finish_if_done(send_id))
    return len(chunk_ids)


@shared_task(name="richmessages.campaigns.requeue_stalled_work")
def requeue_stalled_work() -> None:
    queue_work(dispatch.stalled_work())


# --- one send -----------------------------------------------------------------------------------------
@shared_task(name="richmessages.campaigns.prepare_send", acks_late=True)
def send_prepare_task(send_id: int) -> str:
    outcome = preparation.send_prepare(send_id)
    if outcome == "parts":
        for part_id in preparation.part_ids_to_run(send_id):
            _apply(send_part_prepare_task, part_id)
    elif outcome == "released":
        after = 0
        while page := preparation.chunk_ids_to_queue(send_id, after=after, limit=QUEUE_PAGE):
            queue_chunks(page)
            after = page[-1]
    elif outcome == "broadcast":
        _apply(broadcast_deliver_task, send_id)
    elif outcome == "narrowcast":
        _apply(narrowcast_start_task, send_id)
    return outcome


@shared_task(name="richmessages.campaigns.prepare_send_part", bind=True, acks_late=True, max_retries=5)
def send_part_prepare_task(self, part_id: int) -> str:
    """One range of a send's audience; a released send's chunks are queued as each batch commits."""
    try:
        outcome = preparation.send_part_prepare(part_id, on_chunks=queue_chunks)
    except OperationalError as exc:
        # A deadlock or a lost session rolled the batch back: the rerun starts again at the part's cursor.
        raise self.retry(exc=exc, countdown=1) from exc
    if outcome == "more":
        _apply(send_part_prepare_task, part_id)
    elif outcome == "prepared":
        _apply(send_prepare_task, preparation.send_id_of_part(part_id))
    return outcome


@shared_task(name="richmessages.campaigns.deliver_chunk", bind=True, acks_late=True, max_retries=CHUNK_MAX_RETRIES)
def chunk_deliver_task(self, chunk_id: int) -> str:
    try:
        return delivery.chunk_deliver(chunk_id)
    except OperationalError as exc:
        # A deadlock or a lost session rolled the chunk's marking back: the rerun repeats its retry key, and
        # LINE answers 409 if it had accepted the call.
        raise self.retry(exc=exc, countdown=1) from exc
    except (LineApiError, RateLimitedError) as exc:
        if isinstance(exc, LineApiError) and not exc.retryable:
            raise
        if self.request.retries >= self.max_retries:
            delivery.chunk_give_up(chunk_id, f"LINE kept failing: {exc.message}")
            return "failed"
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc


@shared_task(name="richmessages.campaigns.deliver_broadcast", bind=True, acks_late=True, max_retries=8)
def broadcast_deliver_task(self, send_id: int) -> str:
    try:
        return delivery.broadcast_deliver(send_id)
    except LineApiError as exc:
        if not exc.retryable:
            raise
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc


@shared_task(name="richmessages.campaigns.start_narrowcast", bind=True, acks_late=True, max_retries=8)
def narrowcast_start_task(self, send_id: int) -> str:
    try:
        outcome = narrowcast.narrowcast_start(send_id)
    except LineApiError as exc:
        if not exc.retryable:
            raise
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc
    if outcome == "started":
        _apply(narrowcast_poll_task, send_id, countdown=NARROWCAST_POLL_SECONDS)
    return outcome


@shared_task(name="richmessages.campaigns.poll_narrowcast", acks_late=True)
def narrowcast_poll_task(send_id: int) -> bool:
    """Polls LINE's progress until final, queueing itself again meanwhile (the beat's sweep backs it up)."""
    try:
        final = narrowcast.narrowcast_poll(send_id)
    except LineApiError as exc:
        if not exc.retryable:
            raise
        final = False
    if not final:
        _apply(narrowcast_poll_task, send_id, countdown=NARROWCAST_POLL_SECONDS)
    return final


@shared_task(name="richmessages.campaigns.kick")
def campaign_kick(campaign_id: int) -> None:
    """Starts what a campaign can do now: due sends claimed, open work queued (after approval, resume)."""
    claim_due_sends()
    queue_work(dispatch.campaign_open_work(campaign_id))


@receiver(campaign_work_ready, dispatch_uid="campaigns-kick-on-work-ready")
def _on_work_ready(sender, campaign_id: int, **kwargs) -> None:
    _apply(campaign_kick, campaign_id)
