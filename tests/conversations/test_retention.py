"""Retention: old message texts, webhook bodies and event links go on schedule; a block drops texts and context."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from analytics.models import Event
from analytics.services import event_record
from conversations.context import context_stored
from conversations.models import LineUser, Message, WebhookEvent
from conversations.tasks import apply_retention

pytestmark = pytest.mark.django_db
USER = "U" + "4" * 32


@pytest.fixture
def talk(post_events, events):
    post_events(events.text("remember my order 42", user_id=USER))
    return LineUser.objects.get(line_user_id=USER)


def _age(days: int) -> None:
    then = timezone.now() - timedelta(days=days)
    Message.objects.update(created_at=then)
    WebhookEvent.objects.update(received_at=then)


def test_it_is_scheduled_by_beat():
    assert settings.CELERY_BEAT_SCHEDULE["personal-data-retention"]["task"] == "conversations.tasks.apply_retention"


def test_it_blanks_message_texts_older_than_their_period_and_keeps_the_rows(talk):
    rows = Message.objects.count()
    tokens = [(m.prompt_tokens, m.completion_tokens) for m in Message.objects.order_by("id")]
    _age(366)

    done = apply_retention()

    assert done["conversations"]["message_texts"] == rows
    assert Message.objects.count() == rows
    assert set(Message.objects.values_list("content", flat=True)) == {""}
    assert [(m.prompt_tokens, m.completion_tokens) for m in Message.objects.order_by("id")] == tokens


def test_it_keeps_message_texts_within_their_period(talk):
    _age(364)

    apply_retention()

    assert Message.objects.filter(content="remember my order 42").exists()


def test_it_drops_webhook_bodies_older_than_their_period(talk):
    _age(31)

    apply_retention()

    event = WebhookEvent.objects.get()
    assert event.payload == {"expired": True} and event.reply_token == "" and event.reply_messages is None
    assert event.status == WebhookEvent.Status.REPLIED


def test_it_unlinks_old_events_from_their_user_and_keeps_them_counted(talk):
    event_record(
        type=Event.Type.POSTBACK,
        line_user=talk,
        button="like",
        props={"data": "x"},
        occurred_at=timezone.now() - timedelta(days=731),
    )
    event_record(type=Event.Type.POSTBACK, line_user=talk, button="save")

    apply_retention()

    old, new = Event.objects.get(button="like"), Event.objects.get(button="save")
    assert old.line_user_id is None and old.props == {}
    assert new.line_user_id == talk.pk


def test_it_keeps_everything_when_a_period_is_zero(talk, runtime_setting):
    runtime_setting("retention.message_text_days", 0)
    runtime_setting("retention.webhook_payload_days", 0)
    _age(5000)

    apply_retention()

    assert Message.objects.filter(content="remember my order 42").exists()
    assert WebhookEvent.objects.get().payload != {"expired": True}


def test_it_finds_nothing_new_on_a_second_run(talk):
    event_record(type=Event.Type.MESSAGE, line_user=talk, occurred_at=timezone.now() - timedelta(days=1000))
    _age(1000)
    apply_retention()

    done = apply_retention()

    assert done["conversations"] == {"message_texts": 0, "webhook_payloads": 0}
    assert done["analytics"] == {"events": 0}


def test_it_refuses_a_negative_period(runtime_setting):
    from django.core.exceptions import ValidationError

    from core.errors import ValidationError as AppValidationError

    with pytest.raises((ValidationError, AppValidationError)):
        runtime_setting("retention.message_text_days", -1)


def test_it_drops_texts_and_context_when_the_user_blocks(talk, post_events, events):
    conversation_id = Message.objects.first().conversation_id
    assert context_stored(conversation_id) is not None

    post_events(events.of("unfollow", user_id=USER))

    assert set(Message.objects.values_list("content", flat=True)) == {""}
    assert context_stored(conversation_id) is None
    assert LineUser.objects.get().status == LineUser.Status.INACTIVE


def test_it_keeps_texts_on_a_block_when_the_setting_says_so(talk, post_events, events, runtime_setting):
    runtime_setting("retention.drop_texts_on_block", False)

    post_events(events.of("unfollow", user_id=USER))

    assert Message.objects.filter(content="remember my order 42").exists()


def test_it_updates_in_batches_until_nothing_is_left(talk):
    from core.personal_data import update_in_batches

    rows = Message.objects.exclude(content="").count()

    done = update_in_batches(Message.objects.exclude(content=""), {"content": ""}, batch_size=1)

    assert done == rows >= 2
    assert not Message.objects.exclude(content="").exists()
