from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings
from django.dispatch import receiver

from conversations.packing import Packing, shares
from conversations.processing import (
    EventBusyError,
    stalled_event_ids,
    webhook_event_fail,
    webhook_event_process,
    webhook_events_note_overrun,
)
from core import correlation
from core.errors import LineApiError
from core.logging import get_logger
from core.task_watchdog import task_overran

log = get_logger(__name__)

_MAX_RETRIES = 8


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def process_webhook_event(self, event_id: int) -> str:
    try:
        return webhook_event_process(event_id=event_id)
    except EventBusyError as exc:
        # Another runner owns it: a live one will finish it, a dead one's lock is about to go.
        log.info("line_webhook_event_busy", event_id=event_id)
        if self.request.is_eager or self.request.retries >= _MAX_RETRIES:
            return "busy"
        raise self.retry(exc=exc, countdown=2) from exc
    except LineApiError as exc:
        if exc.retryable and self.request.retries < _MAX_RETRIES and not self.request.is_eager:
            # The answer is stored; the retry only delivers it, with the same retry key.
            raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc
        webhook_event_fail(event_id=event_id, error=str(exc))
        return "failed"
    except Exception as exc:
        webhook_event_fail(event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        raise


# The event each pack task of this process is answering now, by task id: an overrun notes that one alone.
_pack_events_under_way: dict[str, int] = {}


@shared_task(bind=True)
def process_webhook_events(self, event_ids: list[int]) -> list[str]:
    """A pack the relay made while the workers were behind (conversations.packing): each event in turn.

    An event that has to wait (another runner owns it, LINE is down for now) goes on alone as
    :func:`process_webhook_event`, with that task's retries, so the rest of the pack does not wait for it.
    """
    results = []
    try:
        for event_id in event_ids:
            _pack_events_under_way[self.request.id] = event_id
            results.append(_pack_event_process(event_id))
    finally:
        _pack_events_under_way.pop(self.request.id, None)
    return results


def _pack_event_process(event_id: int) -> str:
    try:
        with correlation.kept():  # each event logs under its own webhook's id
            return webhook_event_process(event_id=event_id)
    except EventBusyError:
        log.info("line_webhook_event_busy", event_id=event_id)
        process_webhook_event.apply_async(args=[event_id], countdown=2, queue=_queue_name())
        return "busy"
    except LineApiError as exc:
        if not exc.retryable:
            webhook_event_fail(event_id=event_id, error=str(exc))
            return "failed"
        process_webhook_event.apply_async(args=[event_id], countdown=1, queue=_queue_name())
        return "retrying"
    except Exception as exc:
        log.exception("line_webhook_event_failed", event_id=event_id)
        webhook_event_fail(event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        return "failed"


@receiver(task_overran)
def _note_overrun(sender, task_name: str, args: tuple, task_id: str | None = None, **kwargs) -> None:
    if task_name == process_webhook_event.name and args:
        webhook_events_note_overrun(event_ids=[args[0]])
    elif task_name == process_webhook_events.name and args:
        # A prefork child killed at its limit is announced by the main process, which cannot tell: the whole pack.
        under_way = _pack_events_under_way.get(task_id or "")
        webhook_events_note_overrun(event_ids=[under_way] if under_way is not None else list(args[0]))


def webhook_events_enqueue(*, event_ids: list[int], packing: Packing | None = None) -> None:
    """One task message per event, or per pack of events when ``packing`` says the workers are behind."""
    if not event_ids:
        return
    app = process_webhook_event.app
    # One producer (and broker channel) for the whole batch, not one taken from the pool per event.
    with app.producer_or_acquire() as producer:
        # Bound to that channel once: given the queue's name, Celery would copy the queue to bind it for each
        # message. Each message still makes sure the queue exists (kombu remembers it per connection).
        queue = app.amqp.queues[_queue_name()].bind(producer.channel)
        size = 1
        if packing is not None:
            size = packing.size(events=len(event_ids), now=time.monotonic(), waiting=lambda: _waiting(queue))
        # A pack's time limits are each event's, once per event.
        soft, hard = app.conf.task_soft_time_limit, app.conf.task_time_limit
        for share in shares(event_ids, size):
            if len(share) == 1:
                # The header Celery would write, without its saferepr of the arguments: a sixth of a publish's CPU.
                process_webhook_event.apply_async(
                    args=share, queue=queue, producer=producer, argsrepr=f"[{share[0]}]", kwargsrepr="{}"
                )
                continue
            process_webhook_events.apply_async(
                args=[share],
                queue=queue,
                producer=producer,
                argsrepr=f"[{share!r}]",
                kwargsrepr="{}",
                soft_time_limit=soft and soft * len(share),
                time_limit=hard and hard * len(share),
            )


def _queue_name() -> str:
    return settings.CONVERSATION_TASK_QUEUE or process_webhook_event.app.conf.task_default_queue


def _waiting(queue) -> int:
    """Messages in ``queue`` that no worker has taken yet.

    Declared as the publish declares it, not passively: a passive declare of a queue that does not exist
    yet would close the channel the round publishes on.
    """
    return queue.queue_declare().message_count


@shared_task
def requeue_stalled_webhook_events() -> int:
    """Re-queues events stuck before a final status; processing is idempotent, so a duplicate costs nothing."""
    ids = stalled_event_ids(older_than_seconds=settings.CONVERSATION_STALLED_AFTER_SECONDS)
    webhook_events_enqueue(event_ids=ids)
    if ids:
        log.warning("line_webhook_events_requeued", count=len(ids))
    return len(ids)


@shared_task
def apply_retention() -> dict:
    """Blanks or unlinks personal data past its retention period, in every app; rerunning finds nothing new."""
    from conversations.privacy import personal_data_retain

    return personal_data_retain()
