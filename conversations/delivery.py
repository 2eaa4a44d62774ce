"""Sending a prepared answer to LINE exactly once.

The answer and its ``X-Line-Retry-Key`` are stored before LINE is called, and the
event's ``reply_state`` records which way it is being sent:

* the reply token first, while the event is younger than the reply budget;
* a push when LINE refuses the token (expired or spent) or the budget is over.  A
  push carries the stored retry key, so a retry after a timeout or a 5xx (in this
  run or a later one) cannot send twice: LINE answers 409, which counts as sent.

The write that moves the event to sending is durable before LINE is called, and so is everything the run
wrote before it (:mod:`core.db`).

A reply-token call whose outcome is unknown (the connection broke after sending)
followed by "invalid reply token" is counted as sent: pushing then could repeat
an answer the user already has, and answering twice is the worse failure.
"""

from __future__ import annotations

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from prometheus_client import Histogram

from conversations import tunables
from conversations.metrics import ANSWERS_SENT, PUSH_DUPLICATES, REPLY_FALLBACKS
from conversations.models import WebhookEvent
from core.db import RESTORE_COMMITS
from core.errors import LineApiError
from core.line.client import InvalidReplyTokenError, RetryRecord, get_line_client, with_retries
from core.logging import get_logger
from core.raw_sql import row_update, row_update_then, update_statement

log = get_logger(__name__)

State = WebhookEvent.ReplyState

REPLY_SECONDS = Histogram(
    "webhook_reply_seconds",
    "Time from receiving a LINE webhook event to LINE accepting our answer",
    buckets=(0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 13.0, 20.0, 30.0, 60.0, 120.0, 300.0),
)


@functools.cache
def _move_statement(from_states: int, vendor: str) -> str:
    update, _ = update_statement(WebhookEvent, ("reply_state",), connection)
    state = connection.ops.quote_name(WebhookEvent._meta.get_field("reply_state").column)
    move = f"{update} AND {state} IN ({', '.join(['%s'] * from_states)})"
    if vendor != "postgresql":
        return move
    # The answer leaves for LINE after this write: its commit waits for the disk, and so for every commit that the
    # run relaxed before it (the stored answer among them, core.db). Names from the model, values bound.
    moved = f"WITH moved AS ({move} RETURNING 1) SELECT (SELECT count(*) FROM moved)"  # noqa: S608  # nosec B608
    return f"{moved}, {RESTORE_COMMITS}"


def _move(event: WebhookEvent, *, from_states: tuple[str, ...], to_state: str) -> bool:
    """Moves the event's reply state on, unless another run already moved it from ``from_states``."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_move_statement(len(from_states), db.vendor), [to_state, event.pk, *from_states])
        moved = (cursor.fetchone()[0] if db.vendor == "postgresql" else cursor.rowcount) == 1
    if moved:
        event.reply_state = to_state
    return moved


_SENT_FIELDS = (
    "reply_state",
    "reply_method",
    "reply_sent_at",
    "line_request_id",
    "status",
    "processed_at",
    "lease_until",
)


def _mark_sent(event: WebhookEvent, *, method: str, request_id: str, release_lock: tuple[str, list] | None) -> bool:
    """Records the answer as sent; whether the same statement released the caller's lock (``release_lock``)."""
    now = timezone.now()
    event.reply_state, event.reply_method, event.reply_sent_at = State.SENT, method, now
    event.status, event.processed_at = WebhookEvent.Status.REPLIED, now
    event.line_request_id, event.lease_until = request_id[:64], None
    db = connections[DEFAULT_DB_ALIAS]
    released = False
    if release_lock is None:
        row_update(event, _SENT_FIELDS, db)
    else:
        # The event is final now, so its runner's lock has nothing left to guard: one round trip, not two.
        release, params = release_lock
        released = bool(row_update_then(event, _SENT_FIELDS, db, then=release, params=params))
    ANSWERS_SENT.labels(method=method).inc()
    REPLY_SECONDS.observe(max(0.0, (now - event.received_at).total_seconds()))
    log.info("line_answer_sent", method=method, webhook_event_id=event.webhook_event_id, line_request_id=request_id)
    return released


def _reply_token_usable(event: WebhookEvent) -> bool:
    age = (timezone.now() - event.received_at).total_seconds()
    return bool(event.reply_token) and age < tunables.reply_budget_seconds()


def deliver(event: WebhookEvent, *, release_lock: tuple[str, list] | None = None) -> bool:
    """Sends ``event.reply_messages`` once; raises LineApiError when LINE cannot be reached for now.

    ``release_lock`` is how the caller releases its lock on the event, a constant SQL expression that is true once
    released and its parameters: the statement that records the answer as sent runs it too. Returns whether it did.
    """
    client = get_line_client()
    messages = event.reply_messages or []
    attempts = RetryRecord()
    # Why an answer that had a reply token goes by push instead, for the fallback metric.
    fallback = None

    if event.reply_state == State.PREPARED and _reply_token_usable(event):
        _move(event, from_states=(State.PREPARED,), to_state=State.SENDING_REPLY)
    elif event.reply_state == State.PREPARED and event.reply_token:
        fallback = "budget_exceeded"
    elif event.reply_state == State.SENDING_REPLY:
        # A previous run stopped while replying: it may or may not have reached LINE.
        attempts.ambiguous = True

    if event.reply_state == State.SENDING_REPLY:
        try:
            result = with_retries(lambda: client.reply(event.reply_token, messages), attempts)
        except InvalidReplyTokenError:
            if attempts.ambiguous:
                log.warning("line_reply_outcome_unknown_counted_as_sent", webhook_event_id=event.webhook_event_id)
                return _mark_sent(event, method="reply", request_id="", release_lock=release_lock)
            log.info("line_reply_token_refused_pushing", webhook_event_id=event.webhook_event_id)
            fallback = "token_refused"
        except LineApiError as exc:
            if not exc.retryable or attempts.ambiguous:
                raise
            # LINE failed every reply attempt without acting on it: push instead.
            log.warning("line_reply_failed_pushing", status=exc.status)
            fallback = "reply_failed"
        else:
            return _mark_sent(event, method="reply", request_id=result.request_id, release_lock=release_lock)

    if not event.source_id:
        raise LineApiError("There is no chat to push the answer to.", details={"endpoint": "push"})
    moved = _move(event, from_states=(State.PREPARED, State.SENDING_REPLY), to_state=State.SENDING_PUSH)
    if event.reply_state != State.SENDING_PUSH:
        return False
    if moved and fallback:
        REPLY_FALLBACKS.labels(reason=fallback).inc()
    result = with_retries(lambda: client.push(event.source_id, messages, retry_key=event.retry_key), attempts)
    if result.duplicate:
        PUSH_DUPLICATES.inc()
        log.info("line_push_already_accepted", webhook_event_id=event.webhook_event_id)
    return _mark_sent(event, method="push", request_id=result.request_id, release_lock=release_lock)
