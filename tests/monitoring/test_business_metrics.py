"""Answers, fallbacks and duplicates are counted where delivery decides them."""

import time

import pytest
from prometheus_client import REGISTRY

from conversations.delivery import deliver
from conversations.models import WebhookEvent
from core.line.client import get_line_client

from .conftest import metric

pytestmark = pytest.mark.django_db


def test_it_counts_an_answer_sent_by_reply(webhook, bot):
    before = metric("line_answers_sent_total", method="reply")

    user_id = webhook("Hello")

    assert bot[0].control.messages(user_id=user_id)[0]["via"] == "replyMessage"
    assert metric("line_answers_sent_total", method="reply") == before + 1


def test_it_counts_a_push_after_the_reply_budget_ran_out(webhook, settings):
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 0
    pushed = metric("line_answers_sent_total", method="push")
    fallbacks = metric("line_reply_fallbacks_total", reason="budget_exceeded")

    webhook("Slow one")

    assert metric("line_answers_sent_total", method="push") == pushed + 1
    assert metric("line_reply_fallbacks_total", reason="budget_exceeded") == fallbacks + 1


def test_it_counts_a_push_after_line_refused_the_reply_token(webhook, monkeypatch):
    # The token expires while the bot works on the answer.
    from conversations import delivery

    usable = delivery._reply_token_usable
    monkeypatch.setattr(delivery, "_reply_token_usable", lambda event: time.sleep(0.2) or usable(event))
    fallbacks = metric("line_reply_fallbacks_total", reason="token_refused")

    webhook("Late", reply_token_ttl=0.1)

    assert WebhookEvent.objects.get().reply_method == "push"
    assert metric("line_reply_fallbacks_total", reason="token_refused") == fallbacks + 1


def test_it_counts_a_push_line_had_accepted_before_as_a_duplicate(webhook, bot, settings):
    settings.CONVERSATION_REPLY_BUDGET_SECONDS = 0
    line, _ = bot
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 500, "rate": 1.0}])
    webhook("Push me")  # the push fails: the answer stays stored with its retry key
    event = WebhookEvent.objects.get()
    assert event.reply_state == WebhookEvent.ReplyState.SENDING_PUSH
    line.control.clear_faults()
    # As if an earlier attempt had reached LINE and only its answer was lost.
    get_line_client().push(event.source_id, event.reply_messages, retry_key=event.retry_key)
    duplicates = metric("line_push_duplicates_total")
    pushed = metric("line_answers_sent_total", method="push")

    deliver(event)

    assert metric("line_push_duplicates_total") == duplicates + 1
    assert metric("line_answers_sent_total", method="push") == pushed + 1
    assert len(line.control.messages(user_id=event.source_id)) == 1


def test_it_exports_every_series_before_its_first_increment():
    # A dashboard panel shows 0, not "no data", for what has not happened yet.
    for method in ("reply", "push"):
        assert REGISTRY.get_sample_value("line_answers_sent_total", {"method": method}) is not None
    for reason in ("budget_exceeded", "token_refused", "reply_failed"):
        assert REGISTRY.get_sample_value("line_reply_fallbacks_total", {"reason": reason}) is not None


def test_it_counts_the_tokens_the_llm_client_uses(webhook):
    before = metric("llm_tokens_total", kind="completion")

    webhook("Count my tokens")

    assert metric("llm_tokens_total", kind="completion") > before
