import io
import uuid

import pytest
from PIL import Image

from conversations import postbacks
from conversations.context import context_load
from conversations.line_messages import split_text
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from core.line.client import Profile

from .fakes import event_of, llm_timeout, text_event

pytestmark = pytest.mark.django_db
USER = "U" + "a" * 32


def sent(fake_line):
    return fake_line.sent_texts


def test_text_is_answered_with_the_conversation_context(post_events, fake_line, fake_llm):
    post_events(text_event("My name is Ann"))
    post_events(text_event("What is my name?"))
    second = fake_llm.calls[1]["messages"]
    assert second[0]["role"] == "system"
    assert {"role": "user", "content": "My name is Ann"} in second
    assert {"role": "assistant", "content": "Answer to: My name is Ann"} in second
    assert second[-1] == {"role": "user", "content": "What is my name?"}
    assert fake_line.loading == [USER, USER]


def test_token_usage_and_latency_are_recorded_per_message(post_events, fake_line, fake_llm):
    post_events(text_event("Count me"))
    answer = Message.objects.get(role="assistant")
    assert (answer.prompt_tokens, answer.completion_tokens, answer.latency_ms, answer.model) == (
        10,
        5,
        12,
        "fake-model",
    )
    assert Message.objects.get(role="user").content == "Count me"


def test_the_persona_and_model_settings_come_from_configuration(post_events, fake_line, fake_llm, settings):
    settings.CONVERSATION_PERSONA = "You are Pirate Pete."
    settings.CONVERSATION_MODEL = "deploy-x"
    settings.CONVERSATION_TEMPERATURE = 0.1
    post_events(text_event("Ahoy"))
    call = fake_llm.calls[0]
    assert call["messages"][0]["content"].startswith("You are Pirate Pete.")
    assert (call["model"], call["temperature"]) == ("deploy-x", 0.1)


def test_it_answers_in_the_language_of_the_profile(post_events, fake_line, fake_llm):
    fake_line.profiles[USER] = Profile(USER, "Aiko", "", "", "ja")
    post_events(text_event("こんにちは"))
    assert "'ja'" in fake_llm.calls[0]["messages"][0]["content"]
    assert LineUser.objects.get().display_name == "Aiko"


def test_an_llm_failure_gets_an_apology_in_the_users_language(post_events, fake_line, fake_llm):
    fake_line.profiles[USER] = Profile(USER, "Aiko", "", "", "ja")
    fake_llm.errors.append(llm_timeout())
    post_events(text_event("Hello?"))
    assert sent(fake_line) == ["申し訳ありません。ただいま応答できません。しばらくしてからもう一度お試しください。"]
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED


def test_help_reset_and_lang_commands(post_events, fake_line, fake_llm):
    post_events(text_event("Remember 42"))
    first = Conversation.objects.get()
    post_events(text_event("/help"))
    assert "/reset" in sent(fake_line)[-1]
    post_events(text_event("/reset"))
    first.refresh_from_db()
    assert first.ended_at is not None
    post_events(text_event("/lang th"))
    assert LineUser.objects.get().language == "th"
    assert "ไทย" in sent(fake_line)[-1]
    post_events(text_event("Fresh start"))
    messages = fake_llm.calls[-1]["messages"]
    assert all("Remember 42" not in str(m["content"]) for m in messages)
    assert "'th'" in messages[0]["content"]
    assert len(fake_llm.calls) == 2  # commands never reach the model


def test_a_bad_lang_code_is_explained(post_events, fake_line, fake_llm):
    post_events(text_event("/lang ???"))
    assert "language code" in sent(fake_line)[-1]


def test_groups_are_answered_only_when_addressed(post_events, fake_line, fake_llm):
    group = {"type": "group", "groupId": "C" + "1" * 32, "userId": USER}
    post_events(text_event("just chatting", source=group))
    assert fake_llm.calls == [] and fake_line.replies == []
    post_events(text_event("/bot what time is it?", source=group))
    mention = {"mentionees": [{"index": 0, "length": 4, "type": "user", "isSelf": True}]}
    event = text_event("@Bot tell a joke", source=group)
    event["message"]["mention"] = mention
    post_events(event)
    asked = [c["messages"][-1]["content"] for c in fake_llm.calls]
    assert asked == ["what time is it?", "tell a joke"]
    assert fake_line.loading == []  # the loading indicator is for 1:1 chats only


def test_an_image_is_transposed_downscaled_and_sent_as_a_vision_request(post_events, fake_line, fake_llm, settings):
    settings.CONVERSATION_IMAGE_MAX_SIDE = 100
    image = Image.new("RGB", (400, 200), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90°: the upright picture is 200 wide, 400 high
    raw = io.BytesIO()
    image.save(raw, format="JPEG", exif=exif)
    event = event_of("message", message={"id": "img1", "type": "image", "contentProvider": {"type": "line"}})
    fake_line.contents["img1"] = raw.getvalue()
    post_events(event)
    parts = fake_llm.calls[0]["messages"][-1]["content"]
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    import base64

    sent_image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent_image.size == (50, 100)
    assert Message.objects.get(role="user").media_ref == "image:img1"
    assert len(fake_line.replies) == 1


def test_a_broken_image_gets_a_polite_answer(post_events, fake_line, fake_llm):
    fake_line.contents["bad"] = b"not an image"
    post_events(event_of("message", message={"id": "bad", "type": "image", "contentProvider": {"type": "line"}}))
    assert sent(fake_line) == ["Sorry, I couldn't open that picture."]
    assert fake_llm.calls == []


def test_a_text_file_is_summarised(post_events, fake_line, fake_llm):
    fake_line.contents["f1"] = b"Quarterly report: sales went up."
    post_events(event_of("message", message={"id": "f1", "type": "file", "fileName": "r.txt", "fileSize": 32}))
    prompt = fake_llm.calls[0]["messages"][-1]["content"]
    assert "Summarise the document r.txt" in prompt and "sales went up" in prompt


def test_unsupported_and_oversized_files_are_declined(post_events, fake_line, fake_llm):
    post_events(event_of("message", message={"id": "x", "type": "file", "fileName": "a.exe", "fileSize": 10}))
    post_events(event_of("message", message={"id": "y", "type": "file", "fileName": "a.pdf", "fileSize": 30 * 2**20}))
    assert sent(fake_line)[0].startswith("Sorry, I can't read this kind of message")
    assert sent(fake_line)[1] == "Sorry, that file is too large for me (the limit is 20 MB)."
    assert fake_llm.calls == []


def test_stickers_and_locations_get_a_short_friendly_reply(post_events, fake_line, fake_llm):
    post_events(event_of("message", message={"id": "s", "type": "sticker", "packageId": "1", "stickerId": "2"}))
    post_events(
        event_of(
            "message", message={"id": "l", "type": "location", "title": "Shibuya", "latitude": 1.0, "longitude": 2.0}
        )
    )
    assert sent(fake_line) == ["Nice sticker! 😊", "Thanks for sharing your location (Shibuya)! 📍"]
    assert fake_llm.calls == []


def test_follow_greets_and_stores_the_profile_and_unfollow_keeps_the_user(post_events, fake_line, fake_llm):
    fake_line.profiles[USER] = Profile(USER, "Ann", "https://p/1.png", "hi", "en")
    post_events(event_of("follow"))
    assert sent(fake_line) == [
        "Hello Ann! Thanks for adding me. Ask me anything, send a photo or a document. Type /help for commands."
    ]
    user = LineUser.objects.get()
    assert (user.display_name, user.picture_url, user.status) == ("Ann", "https://p/1.png", "active")
    unfollow = event_of("unfollow")
    del unfollow["replyToken"]
    post_events(unfollow)
    user.refresh_from_db()
    assert user.status == LineUser.Status.INACTIVE
    assert len(fake_line.replies) == 1


def test_join_greets_the_group_and_leave_closes_its_conversation(post_events, fake_line, fake_llm):
    group = {"type": "group", "groupId": "C" + "2" * 32}
    post_events(event_of("join", source=group))
    assert "Hello everyone" in sent(fake_line)[0]
    post_events(event_of("memberJoined", source=group, joined={"members": [{"type": "user", "userId": USER}]}))
    assert sent(fake_line)[1] == "Welcome!"
    leave = event_of("leave", source=group)
    del leave["replyToken"]
    post_events(leave)
    assert Conversation.objects.filter(source_id=group["groupId"], ended_at__isnull=True).count() == 0


def test_postbacks_are_routed_to_registered_handlers(post_events, fake_line, fake_llm):
    @postbacks.register("coupon")
    def coupon(request):
        return [{"type": "text", "text": f"Coupon {request.params['id']} saved"}]

    try:
        post_events(event_of("postback", postback={"data": "action=coupon&id=7"}))
        post_events(event_of("postback", postback={"data": "action=nothing"}))
    finally:
        postbacks.unregister("coupon")
    assert sent(fake_line) == ["Coupon 7 saved", "Sorry, that button is no longer available."]


def test_a_user_over_the_daily_token_budget_is_told_politely(post_events, fake_line, fake_llm, settings):
    settings.CONVERSATION_DAILY_TOKEN_BUDGET = 20
    post_events(text_event("one"))  # uses 15 tokens
    post_events(text_event("two"))  # 30 now
    post_events(text_event("three"))
    assert len(fake_llm.calls) == 2
    assert sent(fake_line)[-1] == "You've reached today's usage limit. Let's talk again tomorrow!"


def test_the_context_is_trimmed_to_its_token_budget(post_events, fake_line, fake_llm, settings):
    settings.CONVERSATION_CONTEXT_TOKENS = 60
    for i in range(10):
        post_events(text_event(f"Message number {i} " + "blah " * 10))
    conversation = Conversation.objects.get()
    context = context_load(conversation.pk)
    assert context.tokens <= 60
    assert "Message number 9" in context.turns[-1].content or "Message number 9" in context.turns[-2].content
    assert context.summary  # older turns are folded into a summary


def test_split_text_counts_utf16_units():
    emoji = "😀" * 3000  # 6,000 UTF-16 units
    pieces = split_text(emoji, max_units=5000)
    assert [len(p.encode("utf-16-le")) // 2 for p in pieces] == [5000, 1000]


def test_unsupported_message_types_get_a_polite_not_supported(post_events, fake_line, fake_llm):
    post_events(event_of("message", message={"id": str(uuid.uuid4()), "type": "video", "duration": 1}))
    assert sent(fake_line)[0].startswith("Sorry, I can't read this kind of message")


def test_web_search_is_offered_as_a_tool_when_configured_and_switched_on(
    post_events, fake_line, fake_llm, settings, monkeypatch
):
    from conversations import tunables

    settings.WEB_SEARCH_PROVIDER = "fake"
    post_events(text_event("no tools yet"))
    monkeypatch.setattr(tunables, "web_search_enabled", lambda: True)
    post_events(text_event("news please"))
    assert fake_llm.calls[0].get("tools") is None
    assert [t.name for t in fake_llm.calls[1]["tools"]] == ["web_search"]


def test_images_are_declined_when_image_understanding_is_off(post_events, fake_line, fake_llm, monkeypatch):
    from conversations import tunables

    monkeypatch.setattr(tunables, "image_understanding_enabled", lambda: False)
    post_events(event_of("message", message={"id": "i", "type": "image", "contentProvider": {"type": "line"}}))
    assert sent(fake_line)[0].startswith("Sorry, I can't read this kind of message")
    assert fake_llm.calls == []


def test_a_context_lost_from_redis_is_rebuilt_from_the_stored_messages(post_events, fake_line, fake_llm):
    from conversations.context import context_clear

    post_events(text_event("My name is Ann"))
    context_clear(Conversation.objects.get().pk)
    post_events(text_event("What is my name?"))
    second = fake_llm.calls[1]["messages"]
    assert [m["content"] for m in second[1:]] == ["My name is Ann", "Answer to: My name is Ann", "What is my name?"]


def test_an_unsent_message_is_forgotten(post_events, fake_line, fake_llm):
    event = text_event("my secret phone number")
    post_events(event)
    post_events(event_of("unsend", unsend={"messageId": event["message"]["id"]}))
    user_message = Message.objects.get(role="user")
    assert user_message.content == ""
    assert "secret" not in str(WebhookEvent.objects.get(webhook_event_id=event["webhookEventId"]).payload)


def test_a_mention_after_an_emoji_is_cut_at_its_utf16_position(post_events, fake_line, fake_llm):
    group = {"type": "group", "groupId": "C" + "3" * 32, "userId": USER}
    event = text_event("😀 @Bot hello", source=group)
    # "😀" is two UTF-16 units, so the mention starts at 3.
    event["message"]["mention"] = {"mentionees": [{"index": 3, "length": 4, "type": "user", "isSelf": True}]}
    post_events(event)
    assert fake_llm.calls[0]["messages"][-1]["content"] == "😀  hello"
