"""Answering one stored webhook event: claim it, work out the answer, store it, deliver it.

Safe to run any number of times, concurrently or after a worker died mid-way:

* the runner holds a PostgreSQL session advisory lock on the event while it works.
  The lock dies with its connection, so the run that a broker redelivers after a
  SIGKILL takes over at once, while a second live runner backs off.  A lock that
  cannot be released ends its session, and the connection pool releases every lock
  of a connection handed back (:mod:`core.db`), so no lock outlives its run.  Other
  databases (the SQLite default) use a lease on the row instead;
* the answer is stored (with the messages it produced) in one transaction before
  anything is sent, so a rerun delivers that answer and never asks the model again;
* on PostgreSQL the run's commits do not wait for the disk until the write that comes before the answer
  leaves for LINE, whose commit waits for all of them (:mod:`core.db`, ``CONVERSATION_RELAXED_COMMITS``): a
  database crash can cost a run its writes and so a second question to the model, never a second message;
* delivery itself is exactly-once (see :mod:`conversations.delivery`);
* a run that outlives its task's hard time limit ends with its process (a prefork child is killed; a threads
  worker stops itself, :mod:`core.task_watchdog`), and the event's rerun answers with an apology rather
  than run into the same wall again.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

from conversations import delivery, dispatch
from conversations.answers import webhook_event_store_answer
from conversations.context import Turn, context_append
from conversations.models import LineUser, WebhookEvent
from conversations.services import webhook_event_flood_control
from conversations.texts import sentence_language, text
from core import correlation
from core.db import RELAX_COMMITS, RESTORE_COMMITS, session_end
from core.errors import LineApiError
from core.logging import get_logger
from core.raw_sql import instance_from_row
from core.redis import get_redis

log = get_logger(__name__)

_LOCK_NAMESPACE = 0x4C42  # "LB"
# The statement that ends a run (its lock's release) also gives the session back the setting its claim relaxed.
_UNLOCK = f"pg_advisory_unlock(%s, %s), {RESTORE_COMMITS}"
Status = WebhookEvent.Status
State = WebhookEvent.ReplyState


class EventBusyError(Exception):
    """Another live runner owns the event."""


def _lease_seconds() -> int:
    return int(settings.CELERY_TASK_TIME_LIMIT) + 30


@dataclass
class _Run:
    """What owning an event gave this run: the event, whether this run moved it to processing, and its lock."""

    event: WebhookEvent | None
    claimed: bool
    # How to release the advisory lock on PostgreSQL (SQL and parameters): the statement that marks the answer
    # sent releases it too, one round trip fewer, and says so here.
    lock: tuple[str, list] | None = None
    released: bool = False


@contextmanager
def _owned(event_id: int) -> Iterator[_Run]:
    """Owns the event for this run, and claims it."""
    if connection.vendor == "postgresql":
        locked, event = _lock_and_claim(event_id)
        if not locked:
            raise EventBusyError(event_id)
        run = _Run(event, event is not None, (_UNLOCK, [_LOCK_NAMESPACE, event_id]))
        try:
            if event is None:
                run.event = _event(event_id)
            yield run
        finally:
            if not run.released:
                _unlock(event_id)
        return
    now = timezone.now()
    taken = (
        WebhookEvent.objects.filter(pk=event_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + timedelta(seconds=_lease_seconds()))
    )
    if not taken and WebhookEvent.objects.filter(pk=event_id).exists():
        raise EventBusyError(event_id)
    try:
        yield _Run(*_claim(event_id))
    finally:
        WebhookEvent.objects.filter(pk=event_id).update(lease_until=None)


def _unlock(event_id: int) -> None:
    """Releases the event's advisory lock, or ends the session so that the lock dies with it.

    A lock left on a pooled connection would keep every later runner off the event.
    """
    released, error = False, None
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {_UNLOCK}", [_LOCK_NAMESPACE, event_id])
            released = bool(cursor.fetchone()[0])
    except DatabaseError as exc:  # e.g. the transaction around the run was aborted
        error = type(exc).__name__
    if not released:
        log.warning("line_webhook_event_unlock_failed", event_id=event_id, error=error)
        session_end(connection)


def _lock_and_claim(event_id: int) -> tuple[bool, WebhookEvent | None]:
    """Whether this session took the event's lock, and the event if it also moved it to processing.

    One statement: the lock is taken first (a materialised CTE), and only a run that holds it
    relaxes the session's commits until the run ends (:data:`_UNLOCK`) or its answer is about to
    leave (:mod:`conversations.delivery`), and updates the row, which comes back as the update left it.
    """
    final = [str(s) for s in WebhookEvent.FINAL_STATUSES]
    statement = _lock_and_claim_statement(relax=settings.CONVERSATION_RELAXED_COMMITS)
    with connection.cursor() as cursor:
        cursor.execute(statement, [_LOCK_NAMESPACE, event_id, Status.PROCESSING, event_id, final])
        locked, _relaxed, *row = cursor.fetchone()
    if not locked or row[0] is None:
        return bool(locked), None
    return True, instance_from_row(WebhookEvent, row, connection)


@functools.cache
def _lock_and_claim_statement(*, relax: bool) -> str:
    meta = WebhookEvent._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    status, attempts = quote(meta.get_field("status").column), quote(meta.get_field("attempts").column)
    columns = [field.column for field in meta.concrete_fields]
    setting = RELAX_COMMITS if relax else "NULL"
    return (
        # Names from the model, values bound (bandit B608, ruff S608).
        "WITH owned AS MATERIALIZED (SELECT pg_try_advisory_lock(%s, %s) AS locked), "  # noqa: S608  # nosec B608
        # Selected below, so that it runs (a WITH that only reads runs when it is read).
        f"relaxed AS MATERIALIZED (SELECT {setting} AS setting FROM owned WHERE owned.locked), "
        f"claimed AS (UPDATE {table} SET {status} = %s, {attempts} = {attempts} + 1 FROM owned "
        f"WHERE owned.locked AND {table}.{pk} = %s AND NOT ({table}.{status} = ANY(%s)) "
        f"RETURNING {', '.join(f'{table}.{quote(c)}' for c in columns)}) "
        f"SELECT owned.locked, relaxed.setting, {', '.join(f'claimed.{quote(c)}' for c in columns)} "
        "FROM owned LEFT JOIN relaxed ON true LEFT JOIN claimed ON true"
    )


def _claim(event_id: int) -> tuple[WebhookEvent | None, bool]:
    """The event, and whether this run moved it to processing (it was not final yet)."""
    claimed = (
        WebhookEvent.objects.filter(pk=event_id)
        .exclude(status__in=WebhookEvent.FINAL_STATUSES)
        .update(status=Status.PROCESSING, attempts=F("attempts") + 1)
    )
    return _event(event_id), bool(claimed)


def _event(event_id: int) -> WebhookEvent | None:
    return WebhookEvent.objects.filter(pk=event_id).first()


def webhook_event_process(*, event_id: int) -> str:
    """Runs the event to a final status and returns it; raises LineApiError if LINE is down for now."""
    with _owned(event_id) as run:
        event = run.event
        if event is None:
            return "missing"
        if not run.claimed:
            return event.status
        if event.correlation_id:
            # The webhook's id, also where the relay published the event with none (the worker made one up).
            correlation.bind(event.correlation_id)
        if event.attempts == 1 and event.reply_state == State.NONE and webhook_event_flood_control(event=event):
            return event.status
        if event.reply_state == State.NONE and event.attempts > 1 and _overran(event_id):
            # What stopped the earlier run would likely stop this one too: the user hears that it failed.
            log.warning("line_webhook_event_overran_before", event_id=event_id)
            _prepare_apology(event, error="An earlier run outlived its task's time limit.")
        if event.reply_state == State.NONE:
            try:
                _prepare(event)
            except LineApiError:
                raise
            except Exception as exc:
                # A bug or an outage in one step must not leave the user in silence.
                log.exception("line_webhook_event_handling_failed", event_id=event_id)
                _prepare_apology(event, error=f"{type(exc).__name__}: {exc}")
        if event.reply_state in (State.PREPARED, State.SENDING_REPLY, State.SENDING_PUSH):
            run.released = delivery.deliver(event, release_lock=run.lock)
        return event.status


def _prepare(event: WebhookEvent) -> None:
    outcome = dispatch.handle(event)
    if outcome.messages:
        event.reply_messages = outcome.messages
        event.reply_state = State.PREPARED
        update_fields = ("reply_messages", "reply_state")
    else:
        event.status = Status.TAKEN_OVER if outcome.taken_over else Status.IGNORED
        event.processed_at = timezone.now()
        update_fields = ("status", "processed_at")
    message_ids = webhook_event_store_answer(
        event=event,
        update_fields=update_fields,
        conversation=outcome.conversation,
        drafts=outcome.drafts,
        line_user=outcome.user,
        correlation_id=correlation.current() or event.correlation_id,
    )
    turns = [Turn(d.role, d.context_text) for d in outcome.drafts if d.context_text]
    if turns and outcome.conversation is not None:
        context_append(
            outcome.conversation.pk,
            turns,
            first_new_message_id=message_ids[0] if message_ids else None,
            new=outcome.new_conversation,
        )


_OVERRAN_SECONDS = 7 * 24 * 3600


def _overran_key(event_id: int) -> str:
    return f"conv:overran:{event_id}"


def webhook_events_note_overrun(*, event_ids: list[int]) -> None:
    """A run of these events outlived its task's time limit (:mod:`core.task_watchdog`).

    Its worker stops, and the broker hands the task out again: the event that run was working on is answered
    with an apology then, instead of being tried once more. Events of the same pack that had not been claimed
    yet, or were answered, are not affected: only a rerun of an event already claimed looks for this note.
    """
    redis = get_redis()
    for event_id in event_ids:
        redis.set(_overran_key(event_id), b"1", ttl=_OVERRAN_SECONDS)


def _overran(event_id: int) -> bool:
    return get_redis().get(_overran_key(event_id)) is not None


def stalled_event_ids(*, older_than_seconds: float) -> list[int]:
    """Events that should be done by now: never queued (the broker was down at commit) or abandoned."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        WebhookEvent.objects.filter(
            status__in=(Status.RECEIVED, Status.PROCESSING), received_at__lt=cutoff
        ).values_list("id", flat=True)[:500]
    )


_ANSWERED_TYPES = ("message", "postback", "follow")


def _prepare_apology(event: WebhookEvent, *, error: str) -> None:
    event.error = error[:2000]
    if event.source_type == "user" and event.event_type in _ANSWERED_TYPES:
        user = LineUser.objects.filter(line_user_id=event.line_user_id).values("language", "language_chosen").first()
        user = user or {"language": "", "language_chosen": False}
        language = sentence_language(language=user["language"], chosen=user["language_chosen"], said=event.text)
        event.reply_messages = [{"type": "text", "text": text("apology", language)}]
        event.reply_state = State.PREPARED
        event.save(update_fields=["error", "reply_messages", "reply_state"])
        return
    event.status = Status.FAILED
    event.processed_at = timezone.now()
    event.save(update_fields=["error", "status", "processed_at"])


def webhook_event_fail(*, event_id: int, error: str) -> None:
    WebhookEvent.objects.filter(pk=event_id).exclude(status__in=WebhookEvent.FINAL_STATUSES).update(
        status=Status.FAILED, error=error[:2000], processed_at=timezone.now()
    )
    log.error("line_webhook_event_failed", event_id=event_id, error=error[:200])


__all__ = [
    "EventBusyError",
    "LineApiError",
    "webhook_event_fail",
    "webhook_event_process",
    "webhook_events_note_overrun",
]
