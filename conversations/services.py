"""Writes: storing webhooks, conversations and messages (users: :mod:`conversations.line_users`)."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from conversations import tunables
from conversations.context import context_clear
from conversations.live import chat_changed
from conversations.models import (
    Conversation,
    LineUser,
    Message,
    WebhookEvent,
    WebhookEventConflict,
    WebhookEventOutbox,
)
from core.db import alone_or_in_savepoint
from core.logging import get_logger
from core.raw_sql import insert_statement, insert_values, row_insert
from core.redis import get_redis
from core.write_group import WriteGroup

log = get_logger(__name__)

# Events a person sends on purpose; only these count towards the per-minute limit.
_COUNTED_TYPES = ("message", "postback")


@dataclass(frozen=True)
class StoredEvent:
    id: int
    created: bool
    queued: bool


def event_digest(event: dict) -> str:
    """Identifies an event's content, ignoring how often LINE delivered it."""
    content = {k: v for k, v in event.items() if k != "deliveryContext"}
    try:
        canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _source(event: dict) -> tuple[str, str, str]:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    source_type = str(source.get("type") or "")[:8]
    user_id = str(source.get("userId") or "")[:64]
    source_id = str(source.get(f"{source_type}Id") or user_id)[:64] if source_type else user_id
    return source_type, source_id, user_id


def _occurred_at(event: dict) -> datetime | None:
    timestamp = event.get("timestamp")
    if isinstance(timestamp, int | float) and 0 < timestamp < 10**14:
        return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    return None


def _over_flood_limit(line_user_id: str) -> tuple[bool, bool]:
    """(over the limit, first event over it) for one more event from this user in this minute."""
    limit = tunables.messages_per_minute()
    window = int(time.time() // 60)
    count = get_redis().incr(f"conv:flood:{line_user_id}:{window}", ttl=60)
    return count > limit, count == limit + 1


_NEW, _REPEAT, _CONFLICT = "new", "repeat", "conflict"


def _webhook_event_id(event: dict, digest: str) -> str:
    """LINE's id of the event; the content digest stands in for a missing or unusable one."""
    raw = event.get("webhookEventId")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return digest
    value = str(raw)
    # A longer id is not LINE's; cutting it could make two events one.
    return value if 0 < len(value) <= 64 else digest


def _known(row: WebhookEvent) -> tuple[int, str] | None:
    """How a stored event with the row's id relates to the row: a repeat (counted) or a conflict."""
    same = WebhookEvent.objects.filter(webhook_event_id=row.webhook_event_id, content_digest=row.content_digest)
    if same.update(deliveries=F("deliveries") + 1):
        return same.values_list("id", flat=True).first(), _REPEAT
    other = WebhookEvent.objects.filter(webhook_event_id=row.webhook_event_id).values_list("id", flat=True).first()
    return None if other is None else (other, _CONFLICT)


@functools.cache
def _insert_once_statement(outbox: bool, rows: int = 1) -> tuple[str, list]:
    """The ack's statement on PostgreSQL for ``rows`` events and the fields each binds, built once per size.

    Under the outbox the same statement also puts each new event in the relay's table. A row comes back
    for each event stored or repeated, with its webhookEventId: PostgreSQL does not promise the order.
    """
    insert, fields = insert_statement(WebhookEvent, connection, rows=rows)
    meta = WebhookEvent._meta
    quote = connection.ops.quote_name
    table, digest = quote(meta.db_table), quote(meta.get_field("content_digest").column)
    key = quote(meta.get_field("webhook_event_id").column)
    sql = (
        f"{insert} ON CONFLICT ({key}) "
        f"DO UPDATE SET deliveries = {table}.deliveries + 1 WHERE {table}.{digest} = EXCLUDED.{digest} "
        f"RETURNING id, (xmax = 0) AS inserted, {key}"
    )
    if outbox:
        outbox_meta = WebhookEventOutbox._meta
        sql = (
            f"WITH stored AS ({sql}), queued AS ("  # noqa: S608  # nosec B608  (names from the models)
            f"INSERT INTO {quote(outbox_meta.db_table)} ({quote(outbox_meta.pk.column)}) "
            f"SELECT id FROM stored WHERE inserted) SELECT * FROM stored"
        )
    return sql, fields


def _insert_rows(rows: list[WebhookEvent]) -> list[tuple[int, bool] | None]:
    """Inserts the rows (distinct webhookEventIds) in one statement: for each, (id, inserted), or None
    when its id is stored with another body (a conflict, left as it is)."""
    sql, fields = _insert_once_statement(settings.CONVERSATION_DISPATCH == "outbox", len(rows))
    # The connection itself, not the proxy: one lookup instead of one per field.
    db = connections[DEFAULT_DB_ALIAS]
    params = []
    for row in rows:
        params += insert_values(row, fields, db)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        stored = {key: (event_id, inserted) for event_id, inserted, key in cursor.fetchall()}
    return [stored.get(row.webhook_event_id) for row in rows]


# The ack's inserts made at the same moment by a web process's threads go as one statement (core.write_group).
_insert_group = WriteGroup(_insert_rows, key=lambda row: row.webhook_event_id, largest=tunables.events_per_insert)


def _insert_once(row: WebhookEvent) -> tuple[int, str]:
    """Inserts the row unless its webhookEventId is known: (id of the stored event, new/repeat/conflict).

    A repeat (same id, same content) only bumps the stored event's delivery count; a conflict
    (same id, other content) leaves the stored event as it is.
    """
    if connection.vendor != "postgresql":
        return _insert_once_elsewhere(row)
    # One round trip on the hot path: the insert and the repeat check are the same statement. Inside a
    # transaction the row is the caller's to commit, so it cannot go with other threads' rows.
    alone = connection.in_atomic_block or tunables.events_per_insert() == 1
    returned = _insert_rows([row])[0] if alone else _insert_group.write(row)
    if returned is not None:
        event_id, inserted = returned
        return event_id, _NEW if inserted else _REPEAT
    # A conflicting body updates nothing, so no row comes back and it is looked up here.
    known = _known(row)
    # None only if the stored event was deleted in between: then this one is new after all.
    return known if known is not None else _insert_once(row)


def _insert_once_elsewhere(row: WebhookEvent) -> tuple[int, str]:
    """:func:`_insert_once` on a database without ``ON CONFLICT … RETURNING`` (SQLite, the embedded default)."""
    known = _known(row)
    if known is not None:
        return known
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            if settings.CONVERSATION_DISPATCH == "outbox":
                WebhookEventOutbox.objects.create(event_id=row.pk)
    except IntegrityError:
        known = _known(row)  # stored meanwhile by a concurrent delivery
        if known is None:
            raise
        return known
    return row.pk, _NEW


def _conflict_record(*, event_id: int, row: WebhookEvent) -> None:
    """Keeps a differing body once (counting its deliveries) so that it can be inspected."""
    now = timezone.now()
    same = WebhookEventConflict.objects.filter(event_id=event_id, content_digest=row.content_digest)
    if not same.update(deliveries=F("deliveries") + 1, last_received_at=now):
        try:
            with transaction.atomic():
                WebhookEventConflict.objects.create(
                    event_id=event_id,
                    content_digest=row.content_digest,
                    payload=row.payload,
                    correlation_id=row.correlation_id,
                    received_at=now,
                    last_received_at=now,
                )
        except IntegrityError:  # the same body, recorded meanwhile by a concurrent delivery
            same.update(deliveries=F("deliveries") + 1, last_received_at=now)
    log.warning(
        "line_webhook_event_conflict",
        webhook_event_id=row.webhook_event_id,
        event_id=event_id,
        content_digest=row.content_digest,
    )


def _event_row(*, event: dict, destination: str, correlation_id: str | None) -> WebhookEvent:
    """The unsaved row that stores one event of LINE's post."""
    digest = event_digest(event)
    source_type, source_id, line_user_id = _source(event)
    event_type = str(event.get("type") or "")[:32]
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    delivery = event.get("deliveryContext") if isinstance(event.get("deliveryContext"), dict) else {}
    return WebhookEvent(
        webhook_event_id=_webhook_event_id(event, digest),
        content_digest=digest,
        event_type=event_type,
        message_type=str(message.get("type") or "")[:32],
        source_type=source_type,
        source_id=source_id,
        line_user_id=line_user_id,
        reply_token=str(event.get("replyToken") or "")[:255],
        is_redelivery=bool(delivery.get("isRedelivery")),
        occurred_at=_occurred_at(event),
        payload=event,
        destination=destination[:64],
        correlation_id=correlation_id or "",
    )


def webhook_event_store(*, event: dict, destination: str, correlation_id: str | None) -> StoredEvent:
    """Stores one event once, by its webhookEventId; a repeat only bumps its delivery count.

    A body that differs from the stored one under the same id is recorded as a conflict and
    not processed: LINE's ids are unique, so answering it would answer one event twice.
    ``queued`` in the result says whether the event should be processed (the caller queues it).
    """
    row = _event_row(event=event, destination=destination, correlation_id=correlation_id)
    event_id, outcome = _insert_once(row)
    if outcome == _CONFLICT:
        _conflict_record(event_id=event_id, row=row)
        return StoredEvent(id=event_id, created=False, queued=False)
    if outcome == _REPEAT:
        log.info("line_webhook_event_repeated", webhook_event_id=row.webhook_event_id)
        return StoredEvent(id=event_id, created=False, queued=False)

    # Flood control is the worker's (webhook_event_flood_control): the ack stays one statement.
    return StoredEvent(id=event_id, created=True, queued=True)


def webhook_event_flood_control(*, event: WebhookEvent) -> bool:
    """Counts an event against its user's limit per minute; True when it is only to be stored.

    The first event over the limit is still answered (with a polite note: ``throttled``);
    the rest end as THROTTLED. Called once per event, on its first processing attempt.
    """
    if event.event_type not in _COUNTED_TYPES or not event.line_user_id:
        return False
    over, first_over = _over_flood_limit(event.line_user_id)
    if not over:
        return False
    event.throttled = True
    fields = ["throttled"]
    if not first_over:
        event.status = WebhookEvent.Status.THROTTLED
        event.processed_at = timezone.now()
        fields += ["status", "processed_at"]
    event.save(update_fields=fields)
    log.info("line_webhook_event_throttled", line_user_id=event.line_user_id, webhook_event_id=event.webhook_event_id)
    return not first_over


def webhook_events_store(*, payload: dict, correlation_id: str | None) -> list[StoredEvent]:
    """Stores each event on its own: one event's fate never depends on another's."""
    destination = str(payload.get("destination") or "")
    return [
        webhook_event_store(event=event, destination=destination, correlation_id=correlation_id)
        for event in payload["events"]
    ]


# --- conversations ------------------------------------------------------------------------------
def conversation_open(*, source_type: str, source_id: str, user: LineUser | None) -> Conversation:
    return conversation_continue_or_start(source_type=source_type, source_id=source_id, user=user)[0]


def conversation_continue_or_start(
    *, source_type: str, source_id: str, user: LineUser | None, likely_new: bool = False
) -> tuple[Conversation, bool]:
    """The open conversation of the chat, and True when this call started it (nothing has been said in it).

    ``likely_new`` (a user seen for the first time) tries the insert first: one statement instead of two.
    """
    if not likely_new:
        conversation = Conversation.objects.filter(
            source_type=source_type, source_id=source_id, ended_at__isnull=True
        ).first()
        if conversation is not None:
            return conversation, False
    try:
        user = user if source_type == "user" else None
        started = Conversation(source_type=source_type, source_id=source_id, user=user)
        with alone_or_in_savepoint():
            # A new user's first message starts one: a statement built once, not the ORM's save.
            row_insert(started, connection)
            return started, True
    except IntegrityError:
        return Conversation.objects.get(source_type=source_type, source_id=source_id, ended_at__isnull=True), False


def conversation_reset(*, conversation: Conversation) -> None:
    """Ends the conversation and forgets its context; the next message starts a new one."""
    Conversation.objects.filter(pk=conversation.pk, ended_at__isnull=True).update(ended_at=timezone.now())
    context_clear(conversation.pk)


def conversation_close_chat(*, source_type: str, source_id: str) -> None:
    for conversation in Conversation.objects.filter(source_type=source_type, source_id=source_id, ended_at=None):
        conversation_reset(conversation=conversation)


def message_create(
    *,
    conversation: Conversation,
    role: str,
    content: str,
    line_user: LineUser | None,
    webhook_event: WebhookEvent | None,
    media_ref: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    latency_ms: int | None = None,
    model: str = "",
    correlation_id: str | None = None,
    sent_by=None,
    takeover=None,
    retry_key=None,
) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        role=role,
        content=content,
        line_user=line_user,
        webhook_event=webhook_event,
        media_ref=media_ref[:255],
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
        model=model[:128],
        correlation_id=(correlation_id or "")[:128],
        sent_by=sent_by,
        takeover=takeover,
        retry_key=retry_key,
    )
    if conversation.source_type == Conversation.SourceType.USER and conversation.user_id:
        chat_changed(line_user_id=conversation.user_id, message_ids=[message.pk])
    return message


def message_forget(*, line_user_id: str, line_message_id: str) -> int:
    """Blanks what the user sent in a message they unsent; the row stays for token accounting."""
    events = WebhookEvent.objects.filter(
        line_user_id=line_user_id, event_type="message", payload__message__id=line_message_id
    )
    messages = Message.objects.filter(webhook_event__in=events, role=Message.Role.USER)
    conversation_ids = set(messages.values_list("conversation_id", flat=True))
    forgotten = messages.update(content="", media_ref="")
    events.update(payload={"unsent": True})
    for conversation_id in conversation_ids:
        # The next prompt rebuilds the context from the stored messages, without the unsent one.
        context_clear(conversation_id)
    return forgotten
