from __future__ import annotations

from celery import shared_task
from django.conf import settings

from conversations.processing import EventBusyError, stalled_event_ids, webhook_event_fail, webhook_event_process
from core.errors import LineApiError
from core.logging import get_logger

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


def webhook_events_enqueue(*, event_ids: list[int]) -> None:
    app = process_webhook_event.app
    # One producer (and broker channel) for the whole batch, not one taken from the pool per event.
    with app.producer_or_acquire() as producer:
        # Bound to that channel once: given the queue's name, Celery would copy the queue to bind it for each
        # message. Each message still makes sure the queue exists (kombu remembers it per connection).
        queue = app.amqp.queues[settings.CONVERSATION_TASK_QUEUE or app.conf.task_default_queue].bind(producer.channel)
        for event_id in event_ids:
            # The header Celery would write, without its saferepr of the arguments: a sixth of a publish's CPU.
            process_webhook_event.apply_async(
                args=[event_id], queue=queue, producer=producer, argsrepr=f"[{event_id}]", kwargsrepr="{}"
            )


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
