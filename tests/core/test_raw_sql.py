"""Raw statements built from a model's names: a row's fields written as save(update_fields=…) writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from analytics.models import Event as AnalyticsEvent
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from core.raw_sql import (
    insert_statement,
    insert_values,
    row_insert,
    row_update,
    row_update_then,
    update_statement,
    update_values,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return WebhookEvent.objects.create(
        webhook_event_id="01RAWSQL", content_digest="r" * 64, event_type="message", payload={"a": 1}
    )


def test_it_writes_the_named_fields_and_no_other(event):
    event.reply_messages = [{"type": "text", "text": "ありがとう"}]
    event.processed_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    event.error = "left on the instance only"

    assert row_update(event, ("reply_messages", "processed_at"), connection) == 1

    stored = WebhookEvent.objects.get(pk=event.pk)
    assert stored.reply_messages == [{"type": "text", "text": "ありがとう"}]
    assert stored.processed_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert stored.error == ""
    assert stored.payload == {"a": 1}


def test_it_writes_an_empty_value_as_null(event):
    WebhookEvent.objects.filter(pk=event.pk).update(lease_until=datetime(2026, 12, 1, tzinfo=UTC))
    event.lease_until = None

    row_update(event, ("lease_until",), connection)

    assert WebhookEvent.objects.get(pk=event.pk).lease_until is None


def test_it_changes_no_row_once_the_row_is_gone():
    user = LineUser.objects.create(line_user_id="U" + "e" * 32)
    LineUser.objects.filter(pk=user.pk).delete()
    user.display_name = "ソムチャイ"

    assert row_update(user, ("display_name",), connection) == 0
    assert not LineUser.objects.exists()


def test_it_keeps_a_statement_for_each_model_with_the_same_field_names(event):
    user = LineUser.objects.create(line_user_id="U" + "f" * 32)
    user.status, event.status = LineUser.Status.INACTIVE, WebhookEvent.Status.IGNORED

    row_update(event, ("status",), connection)
    row_update(user, ("status",), connection)

    assert LineUser.objects.get(pk=user.pk).status == LineUser.Status.INACTIVE
    assert WebhookEvent.objects.get(pk=event.pk).status == WebhookEvent.Status.IGNORED


def test_it_inserts_a_row_and_gives_it_its_key():
    user = LineUser(line_user_id="U" + "1" * 32, display_name="สมชาย", first_seen_at=datetime(2026, 12, 2, tzinfo=UTC))

    assert row_insert(user, connection) is user

    assert user.pk is not None and not user._state.adding
    stored = LineUser.objects.get(pk=user.pk)
    assert (stored.line_user_id, stored.display_name) == ("U" + "1" * 32, "สมชาย")
    assert stored.first_seen_at == datetime(2026, 12, 2, tzinfo=UTC)
    assert stored.tags == [] and stored.status == LineUser.Status.ACTIVE


def test_it_refuses_an_insert_the_database_refuses():
    row_insert(LineUser(line_user_id="U" + "2" * 32), connection)

    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(LineUser(line_user_id="U" + "2" * 32), connection)
    assert LineUser.objects.count() == 1


def test_it_writes_the_fields_and_gives_the_value_asked_for_in_one_statement(event, django_assert_num_queries):
    event.error = "ข้อผิดพลาด"

    with django_assert_num_queries(1):
        value = row_update_then(event, ("error",), connection, then="%s::int + 1", params=[41])

    assert value == 42
    assert WebhookEvent.objects.get(pk=event.pk).error == "ข้อผิดพลาด"


def _as_bound(value):
    # psycopg's JSON wrappers compare by identity: compare what they wrap.
    return ("json", value.obj) if hasattr(value, "obj") else value


def _field_way(row, fields, *, add):
    return [_as_bound(f.get_db_prep_save(f.pre_save(row, add=add), connection)) for f in fields]


def _rows():
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    user = LineUser.objects.create(line_user_id="U" + "9" * 32, first_seen_at=now)
    event = WebhookEvent.objects.create(webhook_event_id="01VALUES", content_digest="v" * 64, payload={"n": 10**20})
    conversation = Conversation.objects.create(source_type="user", source_id=user.line_user_id, user=user)
    return [
        user,
        LineUser(line_user_id="U" + "8" * 32, display_name=gettext_lazy("Somchai"), language="ja", tags=["vip"]),
        event,
        WebhookEvent(
            webhook_event_id="01VALUES2",
            content_digest="w" * 64,
            event_type="message",
            status=WebhookEvent.Status.PROCESSING,
            attempts=2,
            is_redelivery=True,
            occurred_at=now,
            payload={"message": {"text": "สวัสดี こんにちは"}},
            reply_messages=[{"type": "text", "text": "はい"}],
            lease_until=None,
        ),
        Message(conversation=conversation, line_user=user, webhook_event=event, role=Message.Role.USER, content="ค่ะ"),
        Message(conversation=conversation, role="assistant", content="", latency_ms=None, retry_key=uuid.uuid4()),
        Message(conversation_id=conversation.pk, role="assistant", content=SafeString("<b>x</b>"), prompt_tokens=7),
        Conversation(source_type="group", source_id="C" + "1" * 32, started_at=now),
        AnalyticsEvent(type=AnalyticsEvent.Type.MESSAGE, line_user=user, props={"k": [1, "二"]}, campaign_id=None),
    ]


def test_it_prepares_each_value_as_the_field_itself_would():
    for row in _rows():
        _, inserted = insert_statement(type(row), connection)
        assert [_as_bound(v) for v in insert_values(row, inserted, connection)] == _field_way(row, inserted, add=True)
        if row.pk is not None:
            _, updated = update_statement(type(row), tuple(f.name for f in inserted), connection)
            values = update_values(row, updated, connection)
            assert [_as_bound(v) for v in values] == [*_field_way(row, updated, add=False), row.pk]


def test_it_leaves_plain_strings_numbers_and_times_to_the_driver_as_they_are(monkeypatch):
    def refuse(value, connection):
        raise AssertionError("prepared the field's own way")

    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    row = WebhookEvent(
        webhook_event_id="01SAME", content_digest="s" * 64, attempts=3, received_at=now, payload={"a": 1}
    )
    _, fields = insert_statement(WebhookEvent, connection)
    for name in ("webhook_event_id", "attempts", "received_at", "is_redelivery"):
        monkeypatch.setattr(WebhookEvent._meta.get_field(name), "get_db_prep_save", refuse)

    values = dict(zip((f.name for f in fields), insert_values(row, fields, connection), strict=True))

    assert (values["webhook_event_id"], values["attempts"], values["received_at"]) == ("01SAME", 3, now)
    # A JSON value is still the field's to prepare.
    assert values["payload"].obj == {"a": 1}
