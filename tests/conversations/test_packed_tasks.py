"""A pack of events in one task message (conversations.tasks.process_webhook_events): each answered as alone."""

from __future__ import annotations

import pytest
from celery import signals

from conversations.models import WebhookEvent
from conversations.tasks import process_webhook_events
from tests.doubles import answer_to, delivered_texts

from .events import USER

pytestmark = pytest.mark.django_db

TASK = "conversations.tasks.process_webhook_event"


def test_it_answers_each_event_of_a_pack_in_turn(stored, line, llm):
    first, second = stored("Packed one", "Packed two")

    assert process_webhook_events.apply(args=[[first.pk, second.pk]]).get() == ["replied", "replied"]
    assert delivered_texts(line, user_id=USER) == [answer_to("Packed one"), answer_to("Packed two")]


def test_it_runs_a_pack_twice_without_a_second_answer(stored, line, llm):
    first, second = stored("Once", "Only once")
    process_webhook_events.apply(args=[[first.pk, second.pk]])

    assert process_webhook_events.apply(args=[[first.pk, second.pk]]).get() == ["replied", "replied"]
    assert len(llm.control.requests()) == 2
    assert delivered_texts(line, user_id=USER) == [answer_to("Once"), answer_to("Only once")]


def test_it_hands_an_event_line_cannot_take_now_to_a_task_of_its_own(stored, line, llm, published, settings):
    settings.LINE_API_ATTEMPTS = 1
    first, second = stored("Down for now", "Fine")
    # Only the first event's reply, and the push that stands in for it, fail.
    line.control.set_faults(
        errors=[
            {"endpoint": "replyMessage", "status": 500, "rate": 1.0, "count": 1},
            {"endpoint": "pushMessage", "status": 500, "rate": 1.0, "count": 1},
        ]
    )

    settings.CONVERSATION_TASK_QUEUE = "answers"
    queues: list[str] = []

    def record(routing_key=None, **kwargs):
        queues.append(routing_key)

    signals.before_task_publish.connect(record, weak=False)
    try:
        assert process_webhook_events.apply(args=[[first.pk, second.pk]]).get() == ["retrying", "replied"]
    finally:
        signals.before_task_publish.disconnect(record)

    assert published == [TASK]
    assert queues == ["answers"]
    first.refresh_from_db()
    assert first.reply_state == WebhookEvent.ReplyState.SENDING_PUSH
    assert delivered_texts(line, user_id=USER) == [answer_to("Fine")]


def test_it_goes_on_with_the_pack_after_an_event_line_refuses(settings, post_events, events, line, llm, published):
    settings.CONVERSATION_DISPATCH = "outbox"
    # LINE refuses the expired token, and the event names no chat to push the answer to instead.
    post_events(events.text("Refused", reply_ttl=0, source={"type": "user"}), events.text("Fine"))
    first, second = WebhookEvent.objects.order_by("pk")

    assert process_webhook_events.apply(args=[[first.pk, second.pk]]).get() == ["failed", "replied"]
    assert published == []
    assert WebhookEvent.objects.get(pk=first.pk).status == WebhookEvent.Status.FAILED
    assert delivered_texts(line, user_id=USER) == [answer_to("Fine")]


def test_it_runs_each_event_of_a_pack_under_its_own_webhooks_id(
    settings, post_events, events, line, llm, handled_under
):
    settings.CONVERSATION_DISPATCH = "outbox"
    post_events(events.text("One"), HTTP_X_REQUEST_ID="webhook-one")
    post_events(events.text("Two"), HTTP_X_REQUEST_ID="webhook-two")
    first, second = WebhookEvent.objects.order_by("pk")

    seen, after = handled_under(lambda: process_webhook_events.apply(args=[[first.pk, second.pk]]))

    assert seen == ["webhook-one", "webhook-two"]
    assert after == "made-up-by-the-worker"
