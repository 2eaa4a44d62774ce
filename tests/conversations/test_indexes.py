"""The write-hot tables keep only the indexes something reads, and what reads them still finds its index.

The plans are read with sequential scans turned off: on a test database's few rows PostgreSQL would
rightly scan the table, and the question here is whether an index can serve the query at all.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import Event
from conversations.models import Conversation, LineUser, Message, Takeover, WebhookEvent
from conversations.processing import stalled_event_ids

pytestmark = pytest.mark.django_db

HOT_TABLES = ("conversations_webhookevent", "conversations_message", "analytics_event")


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def _uses(plan: str, index: str) -> bool:
    # "Index Scan using <name> on …" or "Bitmap Index Scan on <name>", by the whole name.
    return re.search(rf"(using|on) {index}\b", plan) is not None


@pytest.mark.parametrize("table", HOT_TABLES)
def test_it_keeps_no_pattern_ops_index_on_a_write_hot_table(table):
    pattern_ops = [name for name, definition in _indexes(table).items() if "pattern_ops" in definition]

    assert pattern_ops == []


def test_it_indexes_the_events_by_neither_type_nor_status_alone():
    indexes = _indexes("conversations_webhookevent")

    assert not [name for name, definition in indexes.items() if definition.endswith("(event_type)")]
    assert not [name for name, definition in indexes.items() if definition.endswith("(status)")]
    assert "WHERE" in indexes["webhook_event_unfinished"]


def test_it_finds_stalled_events_through_the_index_of_unfinished_ones():
    # As in production: nearly every event is done, a few are not. With the table's statistics the
    # planner chooses by itself, sequential scans allowed.
    long_ago = timezone.now() - timedelta(hours=1)
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            webhook_event_id=f"E{n:025d}",
            content_digest=f"{n:064x}",
            event_type="message",
            payload={},
            received_at=long_ago,
            status=WebhookEvent.Status.RECEIVED if n % 500 == 0 else WebhookEvent.Status.REPLIED,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_webhookevent")
    with CaptureQueriesContext(connection) as queries:
        stalled = stalled_event_ids(older_than_seconds=60)
    (sweep,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sweep["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert len(stalled) == 6
    assert _uses(plan, "webhook_event_unfinished"), plan


def test_it_finds_a_users_events_and_an_events_correlation_through_an_index():
    assert _uses(_plan(WebhookEvent.objects.filter(line_user_id="U" + "1" * 32)), "webhook_event_line_user")
    assert _uses(_plan(WebhookEvent.objects.filter(correlation_id="abc")), "webhook_event_correlation")


def test_it_finds_a_takeovers_and_a_staff_members_messages_through_their_partial_indexes():
    assert _uses(_plan(Message.objects.filter(takeover_id=1)), "message_takeover")
    assert _uses(_plan(Message.objects.filter(sent_by_id=1)), "message_sent_by")
    assert _uses(_plan(Message.objects.filter(correlation_id="abc")), "message_correlation")


def test_it_finds_a_users_messages_through_the_index_that_starts_with_the_user():
    plan = _plan(Message.objects.filter(line_user_id=1))

    assert _uses(plan, "conversatio_line_us_9b28df_idx")


def test_it_finds_a_campaigns_and_a_rich_messages_events_through_their_partial_indexes():
    assert _uses(_plan(Event.objects.filter(campaign_id=7, type=Event.Type.DELIVERED)), "analytics_event_campaign")
    assert _uses(_plan(Event.objects.filter(rich_message_id=3)), "analytics_event_message")
    assert _uses(_plan(Event.objects.filter(template_version_id=3)), "analytics_event_version")


def test_it_still_sets_a_deleted_takeovers_messages_to_null(django_user_model):
    user = LineUser.objects.create(line_user_id="U" + "2" * 32)
    operator = django_user_model.objects.create_user(username="op", password="a-long-test-password-1")
    takeover = Takeover.objects.create(line_user=user, started_by=operator, expires_at=timezone.now())
    conversation = Conversation.objects.create(source_type="user", source_id=user.line_user_id, user=user)
    message = Message.objects.create(
        conversation=conversation, line_user=user, role="assistant", takeover=takeover, sent_by=operator
    )

    takeover.delete()
    operator.delete()

    message.refresh_from_db()
    assert (message.takeover_id, message.sent_by_id) == (None, None)
