"""Each event is answered exactly once, whatever LINE or the worker does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import postbacks
from conversations.models import WebhookEvent
from conversations.processing import webhook_event_process
from conversations.tasks import process_webhook_event, requeue_stalled_webhook_events
from tests.doubles import answer_to, delivered_texts

from .events import USER

pytestmark = pytest.mark.django_db


def replies(line) -> list[dict]:
    return line.control.requests(endpoint="replyMessage")


def pushes(line) -> list[dict]:
    return line.control.requests(endpoint="pushMessage")


def outcomes(requests) -> list[tuple[int, bool]]:
    """(status LINE answered, whether the answer was lost) of each request."""
    return [(request["status"], request["lost"]) for request in requests]


def test_it_sends_one_reply_when_the_task_runs_twice(post_events, events, line, llm):
    post_events(events.text("Twice"))
    event = WebhookEvent.objects.get()
    assert process_webhook_event.apply(args=[event.pk]).get() == WebhookEvent.Status.REPLIED
    assert outcomes(replies(line)) == [(200, False)]
    assert pushes(line) == []
    assert len(llm.control.requests()) == 1


def test_it_stores_the_reply_with_its_retry_key_before_calling_line(post_events, events, line, llm, settings):
    settings.LINE_API_ATTEMPTS = 1
    # LINE acts on neither call: the reply fails, then the push that stands in for it.
    line.control.set_faults(
        errors=[
            {"endpoint": "replyMessage", "status": 500, "rate": 1.0},
            {"endpoint": "pushMessage", "status": 500, "rate": 1.0},
        ]
    )
    post_events(events.text("Store first"))
    row = WebhookEvent.objects.get()
    [reply] = replies(line)
    [push] = pushes(line)
    # Nothing after a failed call ran, so what the row holds was written before LINE was called.
    assert row.reply_state == WebhookEvent.ReplyState.SENDING_PUSH
    assert row.reply_messages == [{"type": "text", "text": answer_to("Store first")}]
    assert reply["body"]["messages"] == push["body"]["messages"] == row.reply_messages
    assert push["retryKey"] == str(row.retry_key)
    assert delivered_texts(line) == []


def test_it_falls_back_to_one_push_when_line_refuses_the_reply_token(post_events, events, line, llm):
    post_events(events.text("Late", reply_ttl=0))  # the token has expired by the time the bot replies
    stored = WebhookEvent.objects.get()
    assert outcomes(replies(line)) == [(400, False)]
    [push] = pushes(line)
    assert (push["status"], push["to"], push["retryKey"]) == (200, [USER], str(stored.retry_key))
    assert push["body"]["messages"] == stored.reply_messages
    assert stored.reply_method == "push" and stored.status == WebhookEvent.Status.REPLIED
    process_webhook_event.apply(args=[stored.pk])
    assert len(pushes(line)) == 1
    assert delivered_texts(line, user_id=USER) == [answer_to("Late")]


def test_it_pushes_an_answer_ready_after_the_reply_budget(post_events, events, line, llm, settings):
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 0
    post_events(events.text("Slow"))
    assert replies(line) == []
    assert outcomes(pushes(line)) == [(200, False)]
    assert delivered_texts(line) == [answer_to("Slow")]


def test_it_sends_once_when_a_push_is_retried_after_a_lost_response(post_events, events, line, llm):
    # LINE delivers the first push but its answer never arrives: the client sees a broken connection.
    line.control.set_faults(lost_responses=[{"endpoint": "pushMessage", "count": 1}])
    post_events(events.text("Lost", reply_ttl=0))
    attempts = pushes(line)
    assert outcomes(attempts) == [(200, True), (409, False)]  # the retry is answered "already accepted"
    assert {attempt["retryKey"] for attempt in attempts} == {str(WebhookEvent.objects.get().retry_key)}
    assert delivered_texts(line, user_id=USER) == [answer_to("Lost")]
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED


def test_it_retries_line_5xx_and_429(post_events, events, line, llm):
    line.control.set_faults(
        errors=[{"endpoint": "replyMessage", "status": status, "rate": 1.0, "count": 1} for status in (500, 429, 503)]
    )
    post_events(events.text("Burst"))
    assert [r["status"] for r in replies(line)] == [500, 429, 503, 200]
    assert pushes(line) == []
    assert delivered_texts(line) == [answer_to("Burst")]


def test_it_pushes_a_reply_that_keeps_failing_with_5xx(post_events, events, line, llm, settings):
    settings.LINE_API_ATTEMPTS = 2
    line.control.set_faults(errors=[{"endpoint": "replyMessage", "status": 500, "rate": 1.0}])
    post_events(events.text("Down"))
    assert [r["status"] for r in replies(line)] == [500, 500]
    assert outcomes(pushes(line)) == [(200, False)]
    assert delivered_texts(line) == [answer_to("Down")]


def test_it_never_pushes_a_second_answer_after_a_run_died_while_replying(post_events, events, line, llm, settings):
    settings.LINE_API_ATTEMPTS = 1
    # LINE takes the reply, the answer is lost, and the run gives up: it cannot know whether the user has it.
    line.control.set_faults(lost_responses=[{"endpoint": "replyMessage", "count": 1}])
    post_events(events.text("Crash"))
    row = WebhookEvent.objects.get()
    assert (row.status, row.reply_state) == (WebhookEvent.Status.FAILED, WebhookEvent.ReplyState.SENDING_REPLY)
    # As if the worker had died there instead of recording the failure; the task is delivered again.
    WebhookEvent.objects.filter(pk=row.pk).update(status=WebhookEvent.Status.PROCESSING)
    assert webhook_event_process(event_id=row.pk) == WebhookEvent.Status.REPLIED
    assert outcomes(replies(line)) == [(200, True), (400, False)]  # the token was spent by the first run
    assert pushes(line) == []
    assert delivered_texts(line, user_id=USER) == [answer_to("Crash")]


def test_it_delivers_the_stored_answer_when_a_task_is_redelivered_after_a_crash_before_sending(
    post_events, events, line, llm
):
    event = events.text("Prepared")
    post_events(event)
    row = WebhookEvent.objects.get()
    # The state a worker leaves behind when killed right after storing the answer: LINE never saw the
    # reply, so its token is still good (here a fresh one stands in for it).
    WebhookEvent.objects.filter(pk=row.pk).update(
        status=WebhookEvent.Status.PROCESSING,
        reply_state=WebhookEvent.ReplyState.PREPARED,
        reply_sent_at=None,
        reply_token=line.control.issue_reply_token(USER),
        received_at=timezone.now() - timedelta(seconds=1),
    )
    line.control.clear_requests()
    assert webhook_event_process(event_id=row.pk) == WebhookEvent.Status.REPLIED
    [reply] = replies(line)
    assert reply["body"]["messages"] == [{"type": "text", "text": answer_to("Prepared")}]
    assert pushes(line) == []
    assert len(llm.control.requests()) == 1  # the model is not asked again


def test_it_splits_a_long_answer_into_at_most_five_messages(post_events, events, line, llm, settings):
    settings.CONVERSATION_MAX_TOKENS = 20_000  # the model may answer at length
    post_events(events.text("long: 40000"))  # the LLM double answers with 40,000 characters
    [reply] = replies(line)
    messages = reply["body"]["messages"]
    assert reply["status"] == 200
    assert len(messages) == 5
    assert all(len(m["text"].encode("utf-16-le")) // 2 <= 5000 for m in messages)


def test_it_queues_again_events_stuck_before_a_final_status(post_events, events, line, llm, settings):
    settings.CONVERSATION_STALLED_AFTER_SECONDS = 60
    post_events(events.text("Stuck"))
    row = WebhookEvent.objects.get()
    # As if the broker had lost the task before any worker saw it.
    WebhookEvent.objects.filter(pk=row.pk).update(
        status=WebhookEvent.Status.RECEIVED,
        reply_state=WebhookEvent.ReplyState.NONE,
        received_at=timezone.now() - timedelta(minutes=5),
    )
    line.control.clear_requests()
    assert requeue_stalled_webhook_events.apply().get() == 1
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED
    # Five minutes on, the reply token is past its budget: the answer is pushed.
    assert replies(line) == []
    assert outcomes(pushes(line)) == [(200, False)]
    assert requeue_stalled_webhook_events.apply().get() == 0


@pytest.fixture
def broken_postback(post_events, events):
    """A postback whose handler has a bug."""

    @postbacks.register("broken")
    def broken(request):
        raise RuntimeError("a bug")

    try:
        post_events(events.of("postback", postback={"data": "action=broken"}))
    finally:
        postbacks.unregister("broken")
    return WebhookEvent.objects.get()


def test_it_apologises_after_an_unexpected_failure(broken_postback, line):
    assert delivered_texts(line) == ["Sorry, I can't answer right now. Please try again in a moment."]
    assert broken_postback.status == WebhookEvent.Status.REPLIED


def test_it_records_an_unexpected_failure(broken_postback):
    assert "RuntimeError: a bug" in broken_postback.error
