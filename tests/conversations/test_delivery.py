"""Each event is answered exactly once, whatever LINE or the worker does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import WebhookEvent
from conversations.processing import webhook_event_process
from conversations.tasks import process_webhook_event
from core.errors import LineApiError
from core.line.client import InvalidReplyTokenError

from .fakes import lost_response, server_error, text_event

pytestmark = pytest.mark.django_db


def test_a_task_run_twice_sends_one_reply(post_events, fake_line, fake_llm):
    post_events(text_event("Twice"))
    event = WebhookEvent.objects.get()
    assert process_webhook_event.apply(args=[event.pk]).get() == WebhookEvent.Status.REPLIED
    assert len(fake_line.replies) == 1 and fake_line.pushes == []
    assert len(fake_llm.calls) == 1


def test_the_reply_is_stored_with_its_retry_key_before_line_is_called(post_events, fake_line, fake_llm):
    seen = {}

    def reply(token, messages):
        row = WebhookEvent.objects.get()
        seen.update(state=row.reply_state, messages=row.reply_messages, key=row.retry_key)
        raise LineApiError("down", status=400)

    fake_line.reply = reply
    post_events(text_event("Store first"))
    assert seen["state"] == WebhookEvent.ReplyState.SENDING_REPLY
    assert seen["messages"] == [{"type": "text", "text": "Answer to: Store first"}]
    assert seen["key"] is not None


def test_a_refused_reply_token_falls_back_to_one_push(post_events, fake_line, fake_llm):
    fake_line.reply_errors.append(InvalidReplyTokenError(status=400))
    event = text_event("Late")
    post_events(event)
    stored = WebhookEvent.objects.get()
    assert fake_line.replies == []
    assert fake_line.pushes == [(event["source"]["userId"], stored.reply_messages, str(stored.retry_key))]
    assert stored.reply_method == "push" and stored.status == WebhookEvent.Status.REPLIED
    process_webhook_event.apply(args=[stored.pk])
    assert len(fake_line.pushes) == 1


def test_work_beyond_the_reply_budget_is_pushed(post_events, fake_line, fake_llm, settings):
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 0
    post_events(text_event("Slow"))
    assert fake_line.replies == [] and len(fake_line.pushes) == 1


def test_a_push_retried_after_a_lost_response_reuses_its_key_and_sends_once(post_events, fake_line, fake_llm):
    fake_line.reply_errors.append(InvalidReplyTokenError(status=400))
    fake_line.push_errors.append(lost_response())
    post_events(text_event("Lost"))
    keys = set(fake_line.push_attempts)
    assert len(fake_line.push_attempts) == 2 and len(keys) == 1
    assert len(fake_line.pushes) == 1  # the second attempt got 409 from LINE: counted as sent
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED


def test_line_5xx_and_429_are_retried(post_events, fake_line, fake_llm):
    fake_line.reply_errors.extend([server_error(500), server_error(429), server_error(503)])
    post_events(text_event("Burst"))
    assert len(fake_line.replies) == 1 and fake_line.pushes == []


def test_a_reply_that_keeps_failing_with_5xx_is_pushed(post_events, fake_line, fake_llm, settings):
    settings.LINE_API_ATTEMPTS = 2
    fake_line.reply_errors.extend([server_error(500), server_error(500)])
    post_events(text_event("Down"))
    assert fake_line.replies == [] and len(fake_line.pushes) == 1


def test_a_run_that_died_while_replying_never_pushes_a_second_answer(post_events, fake_line, fake_llm):
    fake_line.reply_errors.append(LineApiError("bad request", status=400))
    event = text_event("Crash")
    post_events(event)
    row = WebhookEvent.objects.get()
    assert row.status == WebhookEvent.Status.FAILED
    # Simulate the crashed run: LINE did take the reply, the worker died before recording it.
    fake_line.spent_tokens.add(event["replyToken"])
    WebhookEvent.objects.filter(pk=row.pk).update(status=WebhookEvent.Status.PROCESSING)
    assert webhook_event_process(event_id=row.pk) == WebhookEvent.Status.REPLIED
    assert fake_line.pushes == []


def test_a_redelivered_task_after_a_crash_before_sending_delivers_the_stored_answer(post_events, fake_line, fake_llm):
    post_events(text_event("Prepared"))
    row = WebhookEvent.objects.get()
    # The state a worker leaves behind when killed right after storing the answer.
    WebhookEvent.objects.filter(pk=row.pk).update(
        status=WebhookEvent.Status.PROCESSING,
        reply_state=WebhookEvent.ReplyState.PREPARED,
        reply_sent_at=None,
        received_at=timezone.now() - timedelta(seconds=1),
    )
    fake_line.replies.clear()
    fake_line.spent_tokens.clear()
    assert webhook_event_process(event_id=row.pk) == WebhookEvent.Status.REPLIED
    assert len(fake_line.replies) == 1
    assert len(fake_llm.calls) == 1  # the model is not asked again


def test_long_answers_are_split_into_at_most_five_messages(post_events, fake_line, fake_llm):
    fake_llm.answer = ("word " * 1000 + "\n") * 8  # 40,000 characters
    post_events(text_event("Long"))
    ((_, messages),) = fake_line.replies
    assert len(messages) == 5
    assert all(len(m["text"].encode("utf-16-le")) // 2 <= 5000 for m in messages)


def test_events_stuck_before_a_final_status_are_queued_again(
    post_events, fake_line, fake_llm, settings, django_capture_on_commit_callbacks
):
    from conversations.tasks import requeue_stalled_webhook_events

    settings.CONVERSATION_STALLED_AFTER_SECONDS = 60
    post_events(text_event("Stuck"))
    row = WebhookEvent.objects.get()
    # As if the broker had lost the task before any worker saw it.
    WebhookEvent.objects.filter(pk=row.pk).update(
        status=WebhookEvent.Status.RECEIVED,
        reply_state=WebhookEvent.ReplyState.NONE,
        received_at=timezone.now() - timedelta(minutes=5),
    )
    fake_line.replies.clear()
    assert requeue_stalled_webhook_events.apply().get() == 1
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED
    assert requeue_stalled_webhook_events.apply().get() == 0


def test_an_unexpected_failure_still_gets_an_apology_and_is_recorded(post_events, fake_line, fake_llm):
    fake_llm.errors.append(RuntimeError("a bug"))
    post_events(text_event("Hello?"))
    row = WebhookEvent.objects.get()
    assert fake_line.sent_texts == ["Sorry, I can't answer right now. Please try again in a moment."]
    assert row.status == WebhookEvent.Status.REPLIED
    assert "RuntimeError: a bug" in row.error
