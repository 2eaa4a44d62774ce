"""CONVERSATION_DISPATCH = "outbox": the ack only inserts, the relay publishes each stored event once."""

from __future__ import annotations

import pytest
from celery import signals
from celery.utils.collections import ConfigurationView
from celery.utils.saferepr import saferepr
from django.core.management import call_command
from django.test import RequestFactory

from conversations.models import WebhookEvent
from conversations.relay import webhook_events_relay
from conversations.webhook import line_webhook
from tests.doubles import answer_to, delivered_texts

from .events import USER, body_of, sign, text_event

pytestmark = pytest.mark.django_db

TASK = "conversations.tasks.process_webhook_event"


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.CONVERSATION_DISPATCH = "outbox"


def post(*events):
    body = body_of(*events)
    request = RequestFactory().post(
        "/line/webhook", data=body, content_type="application/json", headers={"X-Line-Signature": sign(body)}
    )
    return line_webhook(request)


def test_it_acknowledges_without_publishing(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(text_event("one")).status_code == 200

    assert published == []
    assert WebhookEvent.objects.get().queued_at is None


def test_it_publishes_each_stored_event_once(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"), text_event("two"))

    assert webhook_events_relay() == 2
    assert webhook_events_relay() == 0
    assert published == [TASK, TASK]
    assert WebhookEvent.objects.filter(queued_at__isnull=False).count() == 2


def test_it_names_every_setting_celery_reads_on_a_publish(
    published, django_capture_on_commit_callbacks, monkeypatch, settings
):
    # One Celery leaves to its defaults is searched for, miss after miss, on each publish.
    read: set[str] = set()
    lookup = ConfigurationView.__getitem__

    def spy(view, key):
        read.add(key)
        return lookup(view, key)

    for text in ("first", "second"):
        with django_capture_on_commit_callbacks(execute=True):
            post(text_event(text))
        if text == "second":  # the first publish also sets the producer pool up, once
            monkeypatch.setattr(ConfigurationView, "__getitem__", spy)
        assert webhook_events_relay() == 1
    monkeypatch.undo()

    assert read
    assert sorted(key for key in read if not hasattr(settings, f"CELERY_{key.upper()}")) == []


@pytest.mark.parametrize(("configured", "queue"), [("answers", "answers"), ("", "celery")])
def test_it_publishes_to_the_configured_queue_else_to_the_default_and_declares_it(
    configured, queue, published, django_capture_on_commit_callbacks, settings
):
    settings.CONVERSATION_TASK_QUEUE = configured
    seen: list[tuple] = []

    def record(routing_key=None, declare=None, **kwargs):
        seen.append((routing_key, [entity.name for entity in declare]))

    signals.before_task_publish.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(text_event("one"), text_event("two"))
        assert webhook_events_relay() == 2
    finally:
        signals.before_task_publish.disconnect(record)

    assert seen == [(queue, [queue])] * 2


def test_it_describes_each_task_as_celery_would_for_monitoring(published, django_capture_on_commit_callbacks):
    seen: list[dict] = []

    def record(headers=None, **kwargs):
        seen.append(headers)

    signals.before_task_publish.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(text_event("one"))
        assert webhook_events_relay() == 1
    finally:
        signals.before_task_publish.disconnect(record)

    event = WebhookEvent.objects.get()
    assert [(h["argsrepr"], h["kwargsrepr"]) for h in seen] == [(saferepr([event.pk]), saferepr({}))]


def test_it_publishes_in_batches_of_the_given_size(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(*(text_event(f"message {i}") for i in range(5)))

    assert [webhook_events_relay(limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert len(published) == 5


def test_it_leaves_events_that_are_no_longer_waiting(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"))
    WebhookEvent.objects.update(status=WebhookEvent.Status.THROTTLED)

    assert webhook_events_relay() == 0
    assert published == []


def test_it_marks_a_batch_and_returns_it_in_one_statement(
    published, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"), text_event("two"))

    with django_assert_num_queries(1):
        assert webhook_events_relay() == 2
    with django_assert_num_queries(1):
        assert webhook_events_relay() == 0


def test_it_unmarks_a_batch_whose_publish_failed_for_the_next_round(
    published, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"), text_event("two"))

    def broker_away(*, event_ids):
        raise ConnectionRefusedError("the broker is away")

    with monkeypatch.context() as patched:
        patched.setattr("conversations.relay.webhook_events_enqueue", broker_away)
        with pytest.raises(ConnectionRefusedError):
            webhook_events_relay()
    assert WebhookEvent.objects.filter(queued_at__isnull=True).count() == 2

    assert webhook_events_relay() == 2
    assert published == [TASK, TASK]


def test_it_answers_an_event_the_relay_published(line, llm, django_capture_on_commit_callbacks):
    # Tasks run eagerly here: the relay's publish is the worker's run.
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("Hello outbox"))
    assert delivered_texts(line, user_id=USER) == []

    call_command("conversations_relay", "--once")

    assert delivered_texts(line, user_id=USER) == [answer_to("Hello outbox")]
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED
