"""Storing an event's answer: the messages of the exchange and the event's new state, all or nothing."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connections

from conversations.answers import webhook_event_store_answer
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from conversations.outcome import Draft

pytestmark = pytest.mark.django_db

REPLY = [{"type": "text", "text": "สวัสดีครับ"}]


@pytest.fixture(params=["postgresql", "other"])
def database(request, monkeypatch):
    """PostgreSQL's one statement, or the ORM's transaction that other databases (the SQLite default) take."""
    if request.param == "other":
        monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    return request.param


@pytest.fixture
def user():
    return LineUser.objects.create(line_user_id="U" + "a" * 32)


@pytest.fixture
def conversation(user):
    return Conversation.objects.create(source_type="user", source_id=user.line_user_id, user=user)


@pytest.fixture
def event(user):
    return WebhookEvent.objects.create(
        webhook_event_id="01ANSWER",
        content_digest="d" * 64,
        event_type="message",
        source_type="user",
        source_id=user.line_user_id,
        line_user_id=user.line_user_id,
        payload={},
    )


def _prepared(event):
    event.reply_messages, event.reply_state = REPLY, WebhookEvent.ReplyState.PREPARED
    return ("reply_messages", "reply_state")


def _store(event, update_fields, drafts, *, conversation, user, correlation_id=None):
    return webhook_event_store_answer(
        event=event,
        update_fields=update_fields,
        conversation=conversation,
        drafts=drafts,
        line_user=user,
        correlation_id=correlation_id,
    )


def test_it_stores_the_messages_in_order_with_the_prepared_reply(database, event, conversation, user):
    drafts = [
        Draft("user", "หิวแล้ว", context_text="หิวแล้ว"),
        Draft("assistant", "お腹が空きましたか", prompt_tokens=12, completion_tokens=7, latency_ms=30, model="m"),
    ]

    ids = _store(event, _prepared(event), drafts, conversation=conversation, user=user, correlation_id="c-1")

    stored = list(Message.objects.filter(pk__in=ids).order_by("pk"))
    assert [m.pk for m in stored] == ids
    assert [(m.role, m.content) for m in stored] == [("user", "หิวแล้ว"), ("assistant", "お腹が空きましたか")]
    assert {(m.webhook_event_id, m.line_user_id, m.conversation_id, m.correlation_id) for m in stored} == {
        (event.pk, user.pk, conversation.pk, "c-1")
    }
    assert (stored[1].prompt_tokens, stored[1].completion_tokens, stored[1].latency_ms) == (12, 7, 30)
    event.refresh_from_db()
    assert (event.reply_state, event.reply_messages) == (WebhookEvent.ReplyState.PREPARED, REPLY)


def test_it_takes_one_statement_on_postgresql(event, conversation, user, django_assert_num_queries):
    with django_assert_num_queries(1):
        _store(
            event,
            _prepared(event),
            [Draft("user", "hi"), Draft("assistant", "hello")],
            conversation=conversation,
            user=user,
        )


# Outside a test transaction: a savepoint around the call would undo a half-stored answer and hide it.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("refused", ["message", "event"])
def test_it_stores_neither_when_the_database_refuses_one_part(database, refused, event, conversation, user):
    # A negative token count breaks the column's check; a state longer than its column is refused too.
    drafts = [Draft("user", "hi"), Draft("assistant", "hello", prompt_tokens=-1 if refused == "message" else 0)]
    update_fields = _prepared(event)
    if refused == "event":
        event.reply_state = "p" * 100

    with pytest.raises(DatabaseError):
        _store(event, update_fields, drafts, conversation=conversation, user=user)

    assert not Message.objects.exists()
    assert WebhookEvent.objects.get(pk=event.pk).reply_state == WebhookEvent.ReplyState.NONE


def test_it_saves_only_the_event_without_a_conversation(database, event, django_assert_num_queries):
    event.status = WebhookEvent.Status.IGNORED

    with django_assert_num_queries(1):
        ids = _store(event, ("status",), [Draft("user", "(tapped a button)")], conversation=None, user=None)

    assert ids == []
    assert not Message.objects.exists()
    assert WebhookEvent.objects.get(pk=event.pk).status == WebhookEvent.Status.IGNORED
