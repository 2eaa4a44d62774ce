import base64
import io
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F, Sum
from PIL import Image

from conversations import postbacks
from conversations.context import context_clear, context_load
from conversations.line_messages import split_text
from conversations.line_users import line_user_set_language, line_user_update_profile
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from conversations.texts import text
from linesim.llm import replies
from tests.doubles import DEPLOYMENT, answer_to, delivered_texts

from .events import USER

pytestmark = pytest.mark.django_db


def asked(llm) -> list:
    """What the model was asked last in each request, oldest first."""
    return [request["body"]["messages"][-1]["content"] for request in llm.control.requests()]


def loading_shown_to(line) -> list[list[str]]:
    return [request["to"] for request in line.control.requests(endpoint="showLoadingAnimation")]


def test_it_answers_a_text_with_the_conversation_context(post_events, events, line, llm):
    post_events(events.text("My name is Ann"))
    post_events(events.text("What is my name?"))
    second = llm.control.requests()[1]["body"]["messages"]
    assert second[0]["role"] == "system"
    assert {"role": "user", "content": "My name is Ann"} in second
    assert {"role": "assistant", "content": answer_to("My name is Ann")} in second
    assert second[-1] == {"role": "user", "content": "What is my name?"}
    assert delivered_texts(line) == [answer_to("My name is Ann"), answer_to("What is my name?")]


def test_it_shows_the_loading_indicator_for_each_message(post_events, events, line, llm):
    post_events(events.text("My name is Ann"))
    post_events(events.text("What is my name?"))
    assert loading_shown_to(line) == [[USER], [USER]]


def test_it_answers_a_sticker_or_a_command_without_the_loading_indicator(post_events, events, line, llm):
    post_events(events.of("message", message={"id": "1", "type": "sticker", "packageId": "1", "stickerId": "2"}))
    post_events(events.text("/help"))

    assert len(delivered_texts(line)) == 2
    assert loading_shown_to(line) == []


def test_it_records_the_token_usage_latency_and_model_of_each_answer(post_events, events, line, llm):
    llm.control.configure(latency_ms=50)
    post_events(events.text("Count me"))
    answer = Message.objects.get(role="assistant")
    [request] = llm.control.requests()
    # The double's usage rules (linesim.llm.replies) say what it reported for this request.
    assert answer.prompt_tokens == replies.prompt_tokens(request["body"]["messages"])
    assert answer.completion_tokens == len(replies.split_tokens(answer_to("Count me")))
    assert answer.latency_ms >= 50
    assert answer.model == DEPLOYMENT
    assert Message.objects.get(role="user").content == "Count me"


def test_it_takes_the_persona_and_model_settings_from_the_runtime_settings(post_events, events, llm, runtime_setting):
    runtime_setting("persona", "You are Pirate Pete.")
    runtime_setting("llm.model", "gpt-4o")
    runtime_setting("llm.temperature", 0.1)
    post_events(events.text("Ahoy"))
    [request] = llm.control.requests()
    assert request["body"]["messages"][0]["content"].startswith("You are Pirate Pete.")
    assert (request["deployment"], request["body"]["temperature"]) == ("gpt-4o", 0.1)


def test_it_answers_in_the_language_of_the_profile(post_events, events, line, llm):
    line.control.add_user(USER, "Aiko", language="ja")
    post_events(events.text("こんにちは"))
    assert "'ja'" in llm.control.requests()[0]["body"]["messages"][0]["content"]
    assert delivered_texts(line) == [answer_to("こんにちは", language="ja")]
    assert LineUser.objects.get().display_name == "Aiko"


def test_it_answers_in_the_language_the_user_writes_in_not_the_apps(post_events, events, line, llm):
    # Many Thai users run LINE in English: the app's language is only the fallback.
    line.control.add_user(USER, "Somchai", language="en")
    post_events(events.text("สวัสดีครับ"))

    system = llm.control.requests()[0]["body"]["messages"][0]["content"]
    assert "Answer in the language the user writes in" in system and "'en'" in system
    assert delivered_texts(line) == [answer_to("สวัสดีครับ", language="th")]
    assert LineUser.objects.get().language_chosen is False


def test_it_always_answers_in_a_language_chosen_with_lang(post_events, events, line, llm):
    line.control.add_user(USER, "Somchai", language="en")
    post_events(events.text("/lang ja"))
    post_events(events.text("สวัสดีครับ"))

    system = llm.control.requests()[0]["body"]["messages"][0]["content"]
    assert system.splitlines()[-1] == "Always answer in the language with the code 'ja'."
    assert delivered_texts(line)[-1] == answer_to("สวัสดีครับ", language="ja")


def test_it_goes_back_to_the_written_language_on_lang_auto(post_events, events, line, llm):
    line.control.add_user(USER, "Somchai", language="en")
    post_events(events.text("/lang ja"))
    post_events(events.text("/lang auto"))

    assert delivered_texts(line)[-1] == "これからは、送られた言語で返信します。"
    user = LineUser.objects.get()
    assert (user.language, user.language_chosen) == ("ja", False)
    post_events(events.text("สวัสดีครับ"))
    assert delivered_texts(line)[-1] == answer_to("สวัสดีครับ", language="th")


def test_it_follows_the_apps_language_until_the_user_chooses_one():
    user = LineUser.objects.create(line_user_id=USER, language="en")

    line_user_update_profile(user=user, display_name="A", picture_url="", status_message="", language="th")
    assert LineUser.objects.get().language == "th"

    line_user_set_language(user=user, language="ja")
    line_user_update_profile(user=user, display_name="A", picture_url="", status_message="", language="th")
    assert (LineUser.objects.get().language, LineUser.objects.get().language_chosen) == ("ja", True)


def test_it_apologises_in_the_users_language_when_the_model_fails(post_events, events, line, llm, settings):
    settings.LLM_READ_TIMEOUT = 0.3
    line.control.add_user(USER, "Aiko", language="ja")
    llm.control.add_fault("timeout", hang_seconds=5)
    post_events(events.text("Hello?"))
    assert delivered_texts(line) == [
        "申し訳ありません。ただいま応答できません。しばらくしてからもう一度お試しください。"
    ]
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED


def test_it_apologises_in_the_language_the_user_wrote_in(post_events, events, line, llm, settings):
    settings.LLM_READ_TIMEOUT = 0.3
    line.control.add_user(USER, "Somchai", language="en")
    llm.control.add_fault("timeout", hang_seconds=5)

    post_events(events.text("สวัสดีครับ"))

    assert delivered_texts(line) == [text("apology", "th")]


def test_it_apologises_in_the_chosen_language_whatever_the_user_wrote_in(post_events, events, line, llm, settings):
    settings.LLM_READ_TIMEOUT = 0.3
    post_events(events.text("/lang ja"))
    llm.control.add_fault("timeout", hang_seconds=5)

    post_events(events.text("สวัสดีครับ"))

    assert delivered_texts(line)[-1] == text("apology", "ja")


def test_it_lists_the_commands_on_help(post_events, events, line, llm):
    post_events(events.text("/help"))
    assert "/reset" in delivered_texts(line)[-1]


def test_it_ends_the_conversation_on_reset(post_events, events, line, llm):
    post_events(events.text("Remember 42"))
    first = Conversation.objects.get()
    post_events(events.text("/reset"))
    first.refresh_from_db()
    assert first.ended_at is not None
    post_events(events.text("Fresh start"))
    messages = llm.control.requests()[-1]["body"]["messages"]
    assert all("Remember 42" not in str(m["content"]) for m in messages)


def test_it_switches_the_users_language_on_lang(post_events, events, line, llm):
    post_events(events.text("/lang th"))
    assert LineUser.objects.get().language == "th"
    assert "ไทย" in delivered_texts(line)[-1]
    post_events(events.text("Fresh start"))
    assert "'th'" in llm.control.requests()[-1]["body"]["messages"][0]["content"]


def test_it_never_sends_a_command_to_the_model(post_events, events, line, llm):
    for command in ("/help", "/reset", "/lang th"):
        post_events(events.text(command))
    assert llm.control.requests() == []


def test_it_explains_a_bad_lang_code(post_events, events, line):
    post_events(events.text("/lang ???"))
    assert "language code" in delivered_texts(line)[-1]


GROUP = {"type": "group", "groupId": "C" + "1" * 32, "userId": USER}


def _chat_in_a_group(post_events, events):
    post_events(events.text("just chatting", source=GROUP))
    post_events(events.text("/bot what time is it?", source=GROUP))
    mention = {"mentionees": [{"index": 0, "length": 4, "type": "user", "isSelf": True}]}
    event = events.text("@Bot tell a joke", source=GROUP)
    event["message"]["mention"] = mention
    post_events(event)


def test_it_answers_a_group_only_when_addressed(post_events, events, line, llm):
    _chat_in_a_group(post_events, events)
    assert asked(llm) == ["what time is it?", "tell a joke"]
    assert delivered_texts(line, chat=f"group:{GROUP['groupId']}") == [
        answer_to("what time is it?"),
        answer_to("tell a joke"),
    ]
    assert len(line.control.requests(endpoint="replyMessage")) == 2


def test_it_shows_the_loading_indicator_in_one_to_one_chats_only(post_events, events, line, llm):
    _chat_in_a_group(post_events, events)
    assert loading_shown_to(line) == []


def test_it_sends_an_image_upright_and_downscaled_as_a_vision_request(post_events, events, line, llm, settings):
    settings.CONVERSATION_IMAGE_MAX_SIDE = 100
    image = Image.new("RGB", (400, 200), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90°: the upright picture is 200 wide, 400 high
    raw = io.BytesIO()
    image.save(raw, format="JPEG", exif=exif)
    message_id = line.control.add_content(raw.getvalue(), content_type="image/jpeg")
    post_events(events.of("message", message={"id": message_id, "type": "image", "contentProvider": {"type": "line"}}))
    [request] = llm.control.requests()
    parts = request["body"]["messages"][-1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    [sent_image] = request["images"]
    assert (sent_image["mime"], sent_image["width"], sent_image["height"]) == ("image/jpeg", 50, 100)
    assert Message.objects.get(role="user").media_ref == f"image:{message_id}"
    assert delivered_texts(line) == [answer_to("", images=1)]


def test_it_answers_a_broken_image_politely(post_events, events, line, llm):
    message_id = line.control.add_content(b"not an image", content_type="image/jpeg")
    post_events(events.of("message", message={"id": message_id, "type": "image", "contentProvider": {"type": "line"}}))
    assert delivered_texts(line) == ["Sorry, I couldn't open that picture."]
    assert llm.control.requests() == []


def test_it_summarises_a_text_file(post_events, events, line, llm):
    content = b"Quarterly report: sales went up."
    message_id = line.control.add_content(content, content_type="text/plain", file_name="r.txt")
    post_events(
        events.of("message", message={"id": message_id, "type": "file", "fileName": "r.txt", "fileSize": len(content)})
    )
    [prompt] = asked(llm)
    assert "Summarise the document r.txt" in prompt and "sales went up" in prompt


def test_it_declines_a_file_of_an_unsupported_kind(post_events, events, line, llm):
    post_events(events.of("message", message={"id": "1001", "type": "file", "fileName": "a.exe", "fileSize": 10}))
    assert delivered_texts(line)[0].startswith("Sorry, I can't read this kind of message")
    assert line.control.requests(endpoint="getMessageContent") == []
    assert llm.control.requests() == []


def test_it_declines_a_file_over_the_size_limit_without_downloading_it(post_events, events, line, llm):
    post_events(
        events.of("message", message={"id": "1002", "type": "file", "fileName": "a.pdf", "fileSize": 30 * 2**20})
    )
    assert delivered_texts(line) == ["Sorry, that file is too large for me (the limit is 20 MB)."]
    assert line.control.requests(endpoint="getMessageContent") == []
    assert llm.control.requests() == []


def test_it_answers_a_sticker_with_a_short_friendly_reply(post_events, events, line, llm):
    post_events(events.of("message", message={"id": "1", "type": "sticker", "packageId": "1", "stickerId": "2"}))
    assert delivered_texts(line) == ["Nice sticker! 😊"]
    assert llm.control.requests() == []


def test_it_answers_a_location_with_a_short_friendly_reply(post_events, events, line, llm):
    post_events(
        events.of(
            "message", message={"id": "2", "type": "location", "title": "Shibuya", "latitude": 1.0, "longitude": 2.0}
        )
    )
    assert delivered_texts(line) == ["Thanks for sharing your location (Shibuya)! 📍"]
    assert llm.control.requests() == []


@pytest.fixture
def ann(line):
    line.control.add_user(USER, "Ann", pictureUrl="https://p/1.png", statusMessage="hi", language="en")


@pytest.mark.usefixtures("ann")
def test_it_greets_a_new_follower(post_events, events, line):
    post_events(events.of("follow"))
    assert delivered_texts(line) == [
        "Hello Ann! Thanks for adding me. Ask me anything, send a photo or a document. Type /help for commands."
    ]


@pytest.mark.usefixtures("ann")
def test_it_stores_the_followers_profile(post_events, events):
    post_events(events.of("follow"))
    user = LineUser.objects.get()
    assert (user.display_name, user.picture_url, user.status) == ("Ann", "https://p/1.png", "active")


@pytest.mark.usefixtures("ann")
def test_it_fetches_a_new_followers_profile_once(post_events, events, line):
    post_events(events.of("follow"))

    assert len(line.control.requests(endpoint="getProfile")) == 1


@pytest.mark.usefixtures("ann")
def test_it_keeps_a_user_who_unfollows_as_inactive_without_answering(post_events, events, line):
    post_events(events.of("follow"))
    post_events(events.of("unfollow"))
    assert LineUser.objects.get().status == LineUser.Status.INACTIVE
    assert len(line.control.requests(endpoint="replyMessage")) == 1


JOINED = {"type": "group", "groupId": "C" + "2" * 32}


def test_it_greets_a_group_it_joins(post_events, events, line):
    post_events(events.of("join", source=JOINED))
    assert "Hello everyone" in delivered_texts(line)[0]


def test_it_welcomes_a_new_group_member(post_events, events, line):
    post_events(events.of("join", source=JOINED))
    post_events(events.of("memberJoined", source=JOINED, joined={"members": [{"type": "user", "userId": USER}]}))
    assert delivered_texts(line)[1] == "Welcome!"


def test_it_closes_the_conversation_of_a_group_it_leaves(post_events, events, line):
    post_events(events.of("join", source=JOINED))
    post_events(events.of("leave", source=JOINED))
    assert Conversation.objects.filter(source_id=JOINED["groupId"], ended_at__isnull=True).count() == 0


def test_it_routes_postbacks_to_registered_handlers(post_events, events, line, llm):
    @postbacks.register("coupon")
    def coupon(request):
        return [{"type": "text", "text": f"Coupon {request.params['id']} saved"}]

    try:
        post_events(events.of("postback", postback={"data": "action=coupon&id=7"}))
        post_events(events.of("postback", postback={"data": "action=nothing"}))
    finally:
        postbacks.unregister("coupon")
    assert delivered_texts(line) == ["Coupon 7 saved", "Sorry, that button is no longer available."]


def test_it_tells_a_user_over_the_daily_token_budget_politely(post_events, events, line, llm, runtime_setting):
    post_events(events.text("one"))
    used = Message.objects.aggregate(total=Sum(F("prompt_tokens") + F("completion_tokens")))["total"]
    runtime_setting("budget.daily_tokens", used + 1)
    post_events(events.text("two"))  # still under the budget
    post_events(events.text("three"))  # over it now
    assert asked(llm) == ["one", "two"]
    assert delivered_texts(line)[-1] == "You've reached today's usage limit. Let's talk again tomorrow!"


def test_it_trims_the_context_to_its_token_budget(post_events, events, settings):
    settings.CONVERSATION_CONTEXT_TOKENS = 60
    for i in range(10):
        post_events(events.text(f"Message number {i} " + "blah " * 10))
    conversation = Conversation.objects.get()
    context = context_load(conversation.pk)
    assert context.tokens <= 60
    assert "Message number 9" in context.turns[-1].content or "Message number 9" in context.turns[-2].content
    assert context.summary  # older turns are folded into a summary


def test_it_splits_text_by_utf16_units():
    emoji = "😀" * 3000  # 6,000 UTF-16 units
    pieces = split_text(emoji, max_units=5000)
    assert [len(p.encode("utf-16-le")) // 2 for p in pieces] == [5000, 1000]


def test_it_answers_an_unsupported_message_type_with_a_polite_not_supported(post_events, events, line):
    post_events(events.of("message", message={"id": str(uuid.uuid4().int)[:14], "type": "video", "duration": 1}))
    assert delivered_texts(line)[0].startswith("Sorry, I can't read this kind of message")


def test_it_offers_web_search_as_a_tool_when_configured_and_switched_on(
    post_events, events, llm, settings, runtime_setting
):
    settings.WEB_SEARCH_PROVIDER = "fake"
    post_events(events.text("no tools yet"))
    runtime_setting("features.web_search", True)
    post_events(events.text("news please"))
    first, second = llm.control.requests()
    assert "tools" not in first["body"]
    assert [tool["function"]["name"] for tool in second["body"]["tools"]] == ["web_search"]


def test_it_declines_images_when_image_understanding_is_off(post_events, events, line, llm, runtime_setting):
    runtime_setting("features.image_understanding", False)
    message_id = line.control.add_content(base64.b64decode(_PNG), content_type="image/png")
    post_events(events.of("message", message={"id": message_id, "type": "image", "contentProvider": {"type": "line"}}))
    assert delivered_texts(line)[0].startswith("Sorry, I can't read this kind of message")
    assert line.control.requests(endpoint="getMessageContent") == []
    assert llm.control.requests() == []


def test_it_rebuilds_a_context_lost_from_redis_from_the_stored_messages(post_events, events, llm):
    post_events(events.text("My name is Ann"))
    context_clear(Conversation.objects.get().pk)
    post_events(events.text("What is my name?"))
    second = llm.control.requests()[1]["body"]["messages"]
    assert [m["content"] for m in second[1:]] == ["My name is Ann", answer_to("My name is Ann"), "What is my name?"]


def test_it_forgets_an_unsent_message(post_events, events):
    event = events.text("my secret phone number")
    post_events(event)
    post_events(events.of("unsend", unsend={"messageId": event["message"]["id"]}))
    user_message = Message.objects.get(role="user")
    assert user_message.content == ""
    assert "secret" not in str(WebhookEvent.objects.get(webhook_event_id=event["webhookEventId"]).payload)


def test_it_cuts_a_mention_after_an_emoji_at_its_utf16_position(post_events, events, llm):
    group = {"type": "group", "groupId": "C" + "3" * 32, "userId": USER}
    event = events.text("😀 @Bot hello", source=group)
    # "😀" is two UTF-16 units, so the mention starts at 3.
    event["message"]["mention"] = {"mentionees": [{"index": 3, "length": 4, "type": "user", "isSelf": True}]}
    post_events(event)
    assert asked(llm) == ["😀  hello"]


# A 1x1 PNG.
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_language_of_users_who_typed_lang_before_the_choice_was_recorded():
    executor = MigrationExecutor(connection)
    executor.migrate([("conversations", "0009_line_user_language_chosen")])
    old = executor.loader.project_state([("conversations", "0009_line_user_language_chosen")]).apps
    OldUser, OldConversation, OldMessage = (
        old.get_model("conversations", name) for name in ("LineUser", "Conversation", "Message")
    )

    def user_who_said(line_user_id, language, *said):
        user = OldUser.objects.create(line_user_id=line_user_id, language=language)
        conversation = OldConversation.objects.create(source_type="user", source_id=line_user_id, user=user)
        for content in said:
            OldMessage.objects.create(conversation=conversation, line_user=user, role="user", content=content)
        return user.pk

    chose = user_who_said("U" + "1" * 32, "zh-TW", "/lang ja", "hello", "/lang zh-tw")
    app_language = user_who_said("U" + "2" * 32, "th", "สวัสดี")
    changed_since = user_who_said("U" + "3" * 32, "en", "/lang ja")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    chosen = dict(LineUser.objects.values_list("pk", "language_chosen"))
    assert chosen == {chose: True, app_language: False, changed_since: False}
