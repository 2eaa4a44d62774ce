"""Raw statements built from a model's names: a row's fields written as save(update_fields=…) writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from conversations.models import LineUser, WebhookEvent
from core.raw_sql import row_insert, row_update, row_update_then

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
