"""Storing what handling an event produced: the event's new state and the messages of the exchange, together.

A rerun reads the stored answer instead of asking the model again (:mod:`conversations.processing`), so the
messages and the prepared reply must be written all or nothing. On PostgreSQL that is one statement: the
messages are inserted in a data-modifying ``WITH`` and the event is updated by the same statement, which is
atomic on its own. The ORM's way (a transaction around a bulk insert and a save) took four round trips and
about three times the worker's CPU (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from conversations.live import chat_changed
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from conversations.outcome import Draft
from core.raw_sql import insert_statement, insert_values, update_statement, update_values


def webhook_event_store_answer(
    *,
    event: WebhookEvent,
    update_fields: tuple[str, ...],
    conversation: Conversation | None,
    drafts: list[Draft],
    line_user: LineUser | None,
    correlation_id: str | None,
) -> list[int]:
    """Saves ``update_fields`` of ``event`` and stores ``drafts`` as the conversation's messages, atomically.

    Returns the messages' ids in the order of ``drafts`` (none without a conversation).
    """
    rows = [_message(draft, conversation, line_user, event, correlation_id) for draft in drafts] if conversation else []
    if not rows:
        event.save(update_fields=update_fields)
        return []
    if connection.vendor == "postgresql":
        ids = _store_in_one_statement(event, update_fields, rows)
    else:
        with transaction.atomic():
            ids = [message.pk for message in Message.objects.bulk_create(rows)]
            event.save(update_fields=update_fields)
    if conversation.source_type == Conversation.SourceType.USER and conversation.user_id:
        chat_changed(line_user_id=conversation.user_id, message_ids=ids)
    return ids


def _message(
    draft: Draft,
    conversation: Conversation,
    line_user: LineUser | None,
    event: WebhookEvent,
    correlation_id: str | None,
) -> Message:
    return Message(
        conversation=conversation,
        role=draft.role,
        content=draft.content,
        line_user=line_user,
        webhook_event=event,
        media_ref=draft.media_ref[:255],
        prompt_tokens=draft.prompt_tokens,
        completion_tokens=draft.completion_tokens,
        latency_ms=draft.latency_ms,
        model=draft.model[:128],
        correlation_id=(correlation_id or "")[:128],
    )


@functools.cache
def _statement(rows: int, update_fields: tuple[str, ...]) -> tuple[str, list, list]:
    """The statement for ``rows`` messages and the event's ``update_fields``, and the fields each part binds."""
    insert, message_fields = insert_statement(Message, connection, rows=rows)
    update, event_fields = update_statement(WebhookEvent, update_fields, connection)
    key = connection.ops.quote_name(Message._meta.pk.column)
    # The keys are drawn from the sequence in the order of the VALUES rows, so sorted they are in the order
    # given (bulk_create relies on the same). Every part of a WITH runs to completion, read or not.
    # Names from the model, values bound (bandit B608, ruff S608).
    sql = f"WITH stored AS ({insert} RETURNING {key}), saved AS ({update}) SELECT {key} FROM stored ORDER BY {key}"  # noqa: S608  # nosec B608
    return sql, message_fields, event_fields


def _store_in_one_statement(event: WebhookEvent, update_fields: tuple[str, ...], rows: list[Message]) -> list[int]:
    sql, message_fields, event_fields = _statement(len(rows), tuple(update_fields))
    db = connections[DEFAULT_DB_ALIAS]
    params = [value for row in rows for value in insert_values(row, message_fields, db)]
    params += update_values(event, event_fields, db)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
