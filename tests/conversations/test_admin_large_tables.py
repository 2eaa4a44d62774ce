"""The webhook events' changelist reads no more of the table than its page shows (core.large_table_admin)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import WebhookEvent
from core.large_table_admin import BoundedCountPaginator

pytestmark = pytest.mark.django_db

PAGE = "/admin/conversations/webhookevent/"
GROUP = "C" + "a" * 32


def _events(count: int) -> list[WebhookEvent]:
    return WebhookEvent.objects.bulk_create(
        WebhookEvent(
            webhook_event_id=f"01EVENT{n:019d}",
            content_digest=str(n),
            event_type="message",
            source_type="user",
            line_user_id=f"U{n:032x}",
            source_id=f"U{n:032x}",
            payload={},
            correlation_id=f"{n:032x}",
        )
        for n in range(count)
    )


@pytest.fixture
def console(verified_client, django_user_model):
    return verified_client(django_user_model.objects.create_superuser("root", password="a-long-password-123"))


def test_it_counts_a_large_table_from_the_planners_estimate(console, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "exact_up_to", 10)
    _events(15)

    with CaptureQueriesContext(connection) as ctx:
        page = console.get(PAGE).content.decode()

    statements = [q["sql"] for q in ctx.captured_queries if "conversations_webhookevent" in q["sql"]]
    counts = [sql for sql in statements if "COUNT(" in sql]
    assert counts and all("LIMIT 11" in sql for sql in counts)
    assert any(sql.startswith("EXPLAIN") for sql in statements)
    assert not any("DISTINCT" in sql for sql in statements)
    assert "about" in page


def test_it_counts_exactly_below_the_bound(console):
    _events(3)

    with CaptureQueriesContext(connection) as ctx:
        page = console.get(PAGE).content.decode()

    assert "3 webhook events" in page and "about" not in page
    assert not any(q["sql"].startswith("EXPLAIN") for q in ctx.captured_queries)


def test_it_offers_lines_event_types_and_dates_without_reading_them_from_the_table(console):
    _events(2)

    page = console.get(PAGE).content.decode()

    assert "?event_type=memberJoined" in page and "?source_type=room" in page
    assert "received_at__gte" in page  # today, the past 7 days, this month, this year
    assert len(console.get(PAGE, {"event_type": "follow"}).context["cl"].result_list) == 0
    assert len(console.get(PAGE, {"event_type": "message"}).context["cl"].result_list) == 2


@pytest.mark.parametrize("field", ["webhook_event_id", "line_user_id", "correlation_id"])
def test_it_finds_an_event_by_a_whole_id(console, field):
    first, _second = _events(2)

    found = console.get(PAGE, {"q": getattr(first, field)}).context["cl"].result_list

    assert [event.pk for event in found] == [first.pk]


def test_it_finds_a_groups_events_by_the_group_id(console):
    [event] = _events(1)
    WebhookEvent.objects.filter(pk=event.pk).update(source_type="group", source_id=GROUP)

    assert [e.pk for e in console.get(PAGE, {"q": f" {GROUP} "}).context["cl"].result_list] == [event.pk]


def test_it_looks_ids_up_in_the_indexes_rather_than_scanning_for_a_substring(console):
    first, _second = _events(2)

    with CaptureQueriesContext(connection) as ctx:
        found = console.get(PAGE, {"q": first.correlation_id[:12]}).context["cl"].result_list

    assert list(found) == []
    assert not any("LIKE" in q["sql"] for q in ctx.captured_queries)
