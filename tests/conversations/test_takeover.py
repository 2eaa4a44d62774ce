"""Live chat takeover: an operator pauses the bot for one user, answers by push, hands back; against the doubles."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import roles
from accounts.models import AuditEvent
from conversations import takeovers
from conversations.live import chat_group, chat_watch, chat_watched
from conversations.models import LineUser, Message, Takeover, WebhookEvent
from core.errors import LineApiError, PermissionDeniedError, ValidationError
from tests.doubles import answer_to

from .events import USER

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_user(django_user_model):
    def make(username, role):
        user = django_user_model.objects.create_user(username, password="a-long-password-123", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def operator(make_user):
    return make_user("olga", roles.OPERATOR)


@pytest.fixture
def aiko(line, post_events, events):
    """A LINE user the bot has talked with once."""
    line.control.add_user(USER, "Aiko")
    post_events(events.text("hello"))
    line.control.clear_requests()
    return LineUser.objects.get(line_user_id=USER)


def bot_answers(line):
    return line.control.requests(endpoint="replyMessage") + line.control.requests(endpoint="pushMessage")


def actions(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_it_pauses_the_bot_for_the_user_and_audits_it(aiko, operator):
    takeover = takeovers.takeover_start(line_user=aiko, actor=operator)

    assert takeovers.takeover_current(line_user=aiko) == takeover
    assert takeover.started_by == operator
    [entry] = actions(AuditEvent.Action.TAKEOVER_STARTED)
    assert entry.actor == operator and entry.target == f"line_user:{USER}"
    assert entry.details["takeover_id"] == takeover.pk


def test_it_returns_the_open_takeover_when_started_twice(aiko, operator, make_user):
    first = takeovers.takeover_start(line_user=aiko, actor=operator)

    again = takeovers.takeover_start(line_user=aiko, actor=make_user("otto", roles.OPERATOR))

    assert again == first
    assert Takeover.objects.count() == 1
    assert len(actions(AuditEvent.Action.TAKEOVER_STARTED)) == 1


def test_it_stores_and_does_not_answer_a_message_while_paused(aiko, operator, line, llm, post_events, events):
    takeovers.takeover_start(line_user=aiko, actor=operator)
    llm.control.reset()

    post_events(events.text("is a person there?"))

    event = WebhookEvent.objects.get(payload__message__text="is a person there?")
    assert event.status == WebhookEvent.Status.TAKEN_OVER
    assert event.reply_messages is None
    assert bot_answers(line) == []
    assert line.control.requests(endpoint="showLoadingAnimation") == []
    assert llm.control.requests() == []
    said = Message.objects.get(webhook_event=event)
    assert said.role == Message.Role.USER and said.content == "is a person there?"


def test_it_answers_again_after_the_hand_back(aiko, operator, line, post_events, events):
    takeovers.takeover_start(line_user=aiko, actor=operator)

    ended = takeovers.takeover_end(line_user=aiko, actor=operator)
    post_events(events.text("and now?"))

    assert ended.end_reason == Takeover.EndReason.HANDED_BACK and ended.ended_by == operator
    assert [m["message"]["text"] for m in line.control.messages(user_id=USER)][-1] == answer_to(
        "and now?", language="en"
    )
    [entry] = actions(AuditEvent.Action.TAKEOVER_ENDED)
    assert entry.actor == operator and entry.details["reason"] == "handed_back"


def test_it_refuses_a_hand_back_when_the_bot_is_not_paused(aiko, operator):
    with pytest.raises(takeovers.TakeoverNotActiveError):
        takeovers.takeover_end(line_user=aiko, actor=operator)

    assert actions(AuditEvent.Action.TAKEOVER_ENDED) == []


def test_it_lets_the_pause_expire_when_the_bot_is_next_asked(aiko, operator, line, post_events, events):
    takeover = takeovers.takeover_start(line_user=aiko, actor=operator)
    Takeover.objects.filter(pk=takeover.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    post_events(events.text("anyone?"))

    assert [m["message"]["text"] for m in line.control.messages(user_id=USER)][-1] == answer_to(
        "anyone?", language="en"
    )
    takeover.refresh_from_db()
    assert takeover.end_reason == Takeover.EndReason.EXPIRED and takeover.ended_at is not None
    [entry] = actions(AuditEvent.Action.TAKEOVER_ENDED)
    assert entry.actor is None and entry.details["reason"] == "expired"


def test_it_pauses_for_the_runtime_settings_minutes(aiko, operator, runtime_setting):
    runtime_setting("takeover.pause_minutes", 5)

    takeover = takeovers.takeover_start(line_user=aiko, actor=operator)

    assert timedelta(minutes=4, seconds=50) < takeover.expires_at - takeover.started_at <= timedelta(minutes=5)


def test_it_pushes_the_operators_message_with_its_stored_retry_key_and_audits_it(aiko, operator, line):
    takeover = takeovers.takeover_start(line_user=aiko, actor=operator)

    message = takeovers.operator_message_send(line_user=aiko, text="Hi Aiko, Olga here.", actor=operator)

    [push] = line.control.requests(endpoint="pushMessage")
    assert push["retryKey"] == str(message.retry_key)
    assert line.control.messages(user_id=USER)[-1]["message"]["text"] == "Hi Aiko, Olga here."
    message.refresh_from_db()
    assert message.takeover == takeover and message.sent_by == operator and message.delivered_at is not None
    [entry] = actions(AuditEvent.Action.TAKEOVER_MESSAGE_SENT)
    assert entry.details["message_id"] == message.pk and entry.details["delivered"] is True


def test_it_starts_the_pause_again_with_each_operator_message(aiko, operator):
    takeover = takeovers.takeover_start(line_user=aiko, actor=operator)
    soon = timezone.now() + timedelta(minutes=1)
    Takeover.objects.filter(pk=takeover.pk).update(expires_at=soon)

    takeovers.operator_message_send(line_user=aiko, text="Still here.", actor=operator)

    takeover.refresh_from_db()
    assert takeover.expires_at > soon + timedelta(minutes=20)


def test_it_refuses_an_operator_message_without_a_takeover(aiko, operator, line):
    with pytest.raises(takeovers.TakeoverNotActiveError):
        takeovers.operator_message_send(line_user=aiko, text="Hello?", actor=operator)

    assert line.control.requests(endpoint="pushMessage") == []
    assert not Message.objects.filter(sent_by=operator).exists()


def test_it_refuses_an_empty_operator_message_and_stores_nothing(aiko, operator, line):
    takeovers.takeover_start(line_user=aiko, actor=operator)

    with pytest.raises(ValidationError):
        takeovers.operator_message_send(line_user=aiko, text="   ", actor=operator)

    assert line.control.requests(endpoint="pushMessage") == []
    assert not Message.objects.filter(sent_by=operator).exists()


def test_it_keeps_an_unconfirmed_message_and_sends_it_again_with_the_same_key(aiko, operator, line, settings):
    settings.LINE_API_RETRY_WAIT = 0.0
    takeovers.takeover_start(line_user=aiko, actor=operator)
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 503, "rate": 1.0, "count": 10}])

    with pytest.raises(LineApiError):
        takeovers.operator_message_send(line_user=aiko, text="Are you there?", actor=operator)
    message = Message.objects.get(sent_by=operator)
    assert message.delivered_at is None
    line.control.set_faults(errors=[])
    takeovers.operator_message_resend(message=message, actor=operator)

    message.refresh_from_db()
    assert message.delivered_at is not None
    keys = {push["retryKey"] for push in line.control.requests(endpoint="pushMessage")}
    assert keys == {str(message.retry_key)}
    assert [m["message"]["text"] for m in line.control.messages(user_id=USER)].count("Are you there?") == 1
    delivered = [e.details["delivered"] for e in actions(AuditEvent.Action.TAKEOVER_MESSAGE_SENT)]
    assert delivered == [False, True]


@pytest.mark.parametrize("role", [roles.ANALYST, roles.CONTENT_EDITOR])
def test_it_refuses_a_takeover_by_a_role_without_the_right(aiko, make_user, role):
    with pytest.raises(PermissionDeniedError):
        takeovers.takeover_start(line_user=aiko, actor=make_user("ann", role))

    assert not Takeover.objects.exists()


def test_it_publishes_new_messages_of_a_watched_chat_after_commit(aiko, operator, post_events, events):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(chat_group(aiko.pk), channel)
    chat_watch(line_user_id=aiko.pk)

    post_events(events.text("live please"))

    import json

    # The event's two messages are stored together, and go out together.
    received = json.loads(async_to_sync(layer.receive)(channel)["text"])
    items = received["items"]
    assert [item["kind"] for item in items] == ["user", "bot"]
    assert items[0]["text"] == "live please"
    assert items[1]["messages"] == [{"type": "text", "text": answer_to("live please", language="en")}]
    async_to_sync(layer.group_discard)(chat_group(aiko.pk), channel)


def test_it_reads_and_publishes_nothing_for_a_chat_nobody_watches(aiko, post_events, events):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(chat_group(aiko.pk), channel)

    post_events(events.text("anyone there?"))

    assert not chat_watched(aiko.pk)
    with pytest.raises(asyncio.TimeoutError):
        async_to_sync(asyncio.wait_for)(layer.receive(channel), 0.5)
    async_to_sync(layer.group_discard)(chat_group(aiko.pk), channel)


def test_it_answers_after_the_hand_back_knowing_what_was_said_meanwhile(aiko, operator, llm, post_events, events):
    takeovers.takeover_start(line_user=aiko, actor=operator)
    post_events(events.text("my order number is 4711"))
    takeovers.operator_message_send(line_user=aiko, text="Order 4711 ships tomorrow.", actor=operator)
    takeovers.takeover_end(line_user=aiko, actor=operator)
    llm.control.reset()

    post_events(events.text("when again?"))

    [request] = llm.control.requests()
    said = [(m["role"], m["content"]) for m in request["body"]["messages"]]
    assert ("user", "my order number is 4711") in said
    assert ("assistant", "Order 4711 ships tomorrow.") in said
    assert said[-1] == ("user", "when again?")
