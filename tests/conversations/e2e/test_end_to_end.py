import time

import pytest

from conversations.models import LineUser, Message, WebhookEvent
from conversations.tasks import process_webhook_events
from tests.line_samples import sample_payload, with_own_ids

pytestmark = pytest.mark.integration


def new_user(bot, **profile) -> str:
    return bot.line.control.add_user(**profile)["userId"]


def texts(messages):
    return [m["message"].get("text") for m in messages]


def test_it_answers_a_text_once_by_reply(bot):
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Hello bot")
    messages = bot.wait_for_messages(user)
    assert len(messages) == 1
    assert messages[0]["via"] == "replyMessage"
    (event,) = bot.wait_for_status()
    assert event.status == WebhookEvent.Status.REPLIED
    assert Message.objects.filter(role="assistant", prompt_tokens__gt=0).count() == 1
    loading = bot.line.control.requests(endpoint="showLoadingAnimation")
    assert loading and loading[0]["body"]["chatId"] == user


APOLOGY = "Sorry, I can't answer right now. Please try again in a moment."


def test_it_handles_every_event_type(bot):
    user = new_user(bot, display_name="Ann", language="en")
    group = bot.line.control.add_group(group_name="Friends")["groupId"]
    bot.send(type="follow", userId=user)
    bot.send(type="image", userId=user)
    bot.send(type="file", userId=user, fileName="notes.txt", contentBase64="U2hvcHBpbmc6IG1pbGssIGVnZ3M=")
    bot.send(type="sticker", userId=user)
    bot.send(type="location", userId=user, latitude=35.66, longitude=139.7, title="Shibuya")
    bot.send(type="postback", userId=user, data="action=help")
    bot.send(type="join", groupId=group)
    bot.send(type="memberJoined", groupId=group, userId=user)
    bot.send(type="text", groupId=group, userId=user, text="just chatting among friends")
    bot.send(type="text", groupId=group, userId=user, text="/bot what is 2+2?")
    events = bot.wait_for_status(timeout=30)
    assert not [(e.message_type, e.error) for e in events if e.status == WebhookEvent.Status.FAILED]
    sent = texts(bot.wait_for_messages(user, count=6, settle=0.2))
    # Two worker processes answer concurrently, so the order may differ from the order sent.
    assert len(sent) == 6
    assert any(t.startswith("Hello Ann!") for t in sent)
    assert "Nice sticker! 😊" in sent
    assert "Thanks for sharing your location (Shibuya)! 📍" in sent
    assert any("/reset" in t for t in sent)
    image_prompt = [r for r in bot.llm.control.requests() if isinstance(r["body"]["messages"][-1]["content"], list)]
    assert image_prompt and image_prompt[0]["body"]["messages"][-1]["content"][1]["image_url"]["url"].startswith(
        "data:image/jpeg;base64,"
    )
    assert any("Shopping: milk, eggs" in str(r["body"]["messages"][-1]["content"]) for r in bot.llm.control.requests())
    in_group = texts(bot.line.control.messages(chat=f"group:{group}"))
    assert len(in_group) == 3  # the greeting, the welcome and the answer to the addressed question
    assert any(t.startswith("Hello everyone") for t in in_group)

    bot.send(type="unfollow", userId=user)
    bot.send(type="leave", groupId=group)
    bot.wait_for_status()
    assert LineUser.objects.get(line_user_id=user).status == LineUser.Status.INACTIVE
    assert len(bot.messages(user)) == 6


def test_it_stores_the_fixture_file_and_settles_every_event(bot):
    events = with_own_ids(sample_payload()["events"])
    delivery = bot.line.control.post_events(events)
    assert delivery["status"] == 200
    stored = bot.wait_for_status(timeout=40)
    assert len(stored) == len(events)
    assert {e.event_type for e in stored} >= {"message", "follow", "unfollow", "join", "leave", "postback"}


def test_it_replies_once_to_an_event_redelivered_three_times(bot):
    user = new_user(bot)
    event = bot.send(type="text", userId=user, text="Only once please")
    assert len(bot.wait_for_messages(user, settle=0.2)) == 1
    for _ in range(3):
        assert bot.line.control.redeliver(event["webhookEventId"])["delivery"]["status"] == 200
    assert len(bot.wait_for_messages(user, count=2, timeout=2)) == 1
    assert WebhookEvent.objects.get().deliveries == 4
    assert len(bot.llm.control.requests()) == 1


def test_it_answers_once_when_a_worker_is_killed_mid_task(bot):
    bot.llm.control.configure(latency_ms=2500)
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Survive the crash")
    deadline = time.monotonic() + 15
    while not bot.llm.control.requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bot.llm.control.requests(), "the task never reached the model"
    bot.worker.kill()
    assert bot.messages(user) == []
    bot.llm.control.configure(latency_ms=0)
    bot.worker.start()
    messages = bot.wait_for_messages(user, timeout=40, settle=2.0)
    assert len(messages) == 1
    (event,) = bot.wait_for_status()
    assert event.status == WebhookEvent.Status.REPLIED and event.attempts == 2


def test_it_answers_each_event_of_a_pack_once_when_a_worker_is_killed_mid_pack(bot, settings, queue_name):
    settings.CONVERSATION_DISPATCH = "outbox"  # the web tier only stores; the pack is published below
    bot.llm.control.configure(latency_ms=2500)
    users = [new_user(bot) for _ in range(3)]
    for number, user in enumerate(users):
        bot.send(type="text", userId=user, text=f"Packed {number}")
    ids = sorted(WebhookEvent.objects.values_list("pk", flat=True))
    # What the relay publishes while messages wait in the queue.
    process_webhook_events.apply_async(args=[ids], queue=queue_name)
    deadline = time.monotonic() + 15
    while not bot.llm.control.requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bot.llm.control.requests(), "the pack never reached the model"
    bot.worker.kill()
    bot.llm.control.configure(latency_ms=0)
    bot.worker.start()

    assert [len(bot.wait_for_messages(user, timeout=40, settle=0.5)) for user in users] == [1, 1, 1]
    events = sorted(bot.wait_for_status(), key=lambda event: event.pk)
    assert [(event.status, event.attempts) for event in events] == [
        (WebhookEvent.Status.REPLIED, 2),  # the one the killed worker had started
        (WebhookEvent.Status.REPLIED, 1),
        (WebhookEvent.Status.REPLIED, 1),
    ]


def test_it_falls_back_to_one_push_for_an_expired_reply_token(bot):
    bot.line.control.configure(replyTokenTtl=0.3)
    bot.llm.control.configure(latency_ms=800)
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Slow answer")
    messages = bot.wait_for_messages(user, settle=1.0)
    assert [m["via"] for m in messages] == ["pushMessage"]
    assert bot.line.control.requests(endpoint="replyMessage", status=400)
    pushes = bot.line.control.requests(endpoint="pushMessage")
    assert len(pushes) == 1 and pushes[0]["retryKey"]


def _burst(bot, endpoints, status):
    bot.line.control.set_faults(errors=[{"endpoint": e, "status": status, "rate": 1.0} for e in endpoints])


def _wait_failures(bot, endpoint, status, count):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len(bot.line.control.requests(endpoint=endpoint, status=status)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"expected {count} x {status} on {endpoint}")


def test_it_retries_a_line_500_burst_and_answers_once(bot):
    _burst(bot, ["replyMessage"], 500)
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Through the storm")
    _wait_failures(bot, "replyMessage", 500, 2)
    bot.line.control.clear_faults()
    assert len(bot.wait_for_messages(user, settle=1.5)) == 1


def test_it_retries_a_line_429_burst_on_reply_and_push_and_answers_once(bot):
    _burst(bot, ["replyMessage", "pushMessage"], 429)
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Rate limited")
    _wait_failures(bot, "replyMessage", 429, 2)
    bot.line.control.clear_faults()
    assert len(bot.wait_for_messages(user, settle=1.5)) == 1


def test_it_apologises_for_an_llm_timeout(bot):
    bot.llm.control.add_fault("timeout", hang_seconds=10)
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Are you there?")
    messages = bot.wait_for_messages(user, timeout=30, settle=0.5)
    assert texts(messages) == [APOLOGY]


def test_it_skips_azures_empty_first_chunk(bot):
    bot.llm.control.add_fault("empty_first_chunk")
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Hello from Azure")
    (message,) = bot.wait_for_messages(user, settle=0.5)
    assert message["message"]["text"] and message["message"]["text"] != APOLOGY
