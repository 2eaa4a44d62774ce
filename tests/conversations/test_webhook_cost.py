"""What one webhook ack costs: one SQL statement and one broker publish per new event, nothing more."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from conversations import tunables
from conversations.models import WebhookEvent
from conversations.webhook import line_webhook

from .events import body_of, sign, text_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def settings_loaded():
    """A running process has its runtime settings in memory (re-read at most every few seconds)."""
    tunables.messages_per_minute()


def post(body: bytes):
    request = RequestFactory().post(
        "/line/webhook", data=body, content_type="application/json", headers={"X-Line-Signature": sign(body)}
    )
    return line_webhook(request)


def test_it_stores_a_new_event_with_one_statement(django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_assert_num_queries(1), django_capture_on_commit_callbacks():
        response = post(body_of(text_event()))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_it_counts_a_repeated_delivery_with_one_statement(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    body = body_of(text_event())
    with django_capture_on_commit_callbacks():
        post(body)

    with django_assert_num_queries(1), django_capture_on_commit_callbacks() as callbacks:
        post(body)

    assert callbacks == []  # a repeat is not queued again
    assert WebhookEvent.objects.get().deliveries == 2


def test_it_publishes_one_task_per_new_event(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(body_of(text_event("one"), text_event("two")))

    assert published == ["conversations.tasks.process_webhook_event"] * 2


def test_it_publishes_nothing_for_a_repeated_delivery(published, django_capture_on_commit_callbacks):
    body = body_of(text_event())
    with django_capture_on_commit_callbacks(execute=True):
        post(body)
    with django_capture_on_commit_callbacks(execute=True):
        post(body)

    assert len(published) == 1
