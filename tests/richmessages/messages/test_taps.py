"""Taps on a rich message's buttons arrive as signed postback webhooks; answers go to the LINE double as replies,
"Tell me more" through the LLM double."""

from urllib.parse import parse_qs, urlsplit

import pytest

from analytics.models import Event
from conversations.context import context_load
from conversations.models import Conversation, LineUser, Message
from conversations.texts import text
from linesim.llm.replies import INTRO
from richmessages import hosting
from richmessages.message_services import rich_message_build
from richmessages.models import RichMessageReaction
from tests.conversations.events import SECRET, body_of, event_of, sign

pytestmark = pytest.mark.django_db

USER = "U" + "c" * 32


@pytest.fixture
def tap(line, llm, settings, client, django_capture_on_commit_callbacks):
    """Posts a postback from USER (a Japanese reader) with a reply token of the double; returns the texts replied."""
    settings.LINE_CHANNEL_SECRET = SECRET
    line.control.add_user(USER, "Chiyo", language="ja")

    def send(data: str, display_text: str | None = None) -> list[str]:
        before = len(line.control.messages(user_id=USER))
        postback = {"data": data}
        event = event_of("postback", user_id=USER, postback=postback, replyToken=line.control.issue_reply_token(USER))
        if display_text:
            postback["displayText"] = display_text
        raw = body_of(event)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/line/webhook", data=raw, content_type="application/json", HTTP_X_LINE_SIGNATURE=sign(raw)
            )
        assert response.status_code == 200
        return [m["message"]["text"] for m in line.control.messages(user_id=USER)[before:]]

    return send


@pytest.fixture
def message(make_template, editor):
    return rich_message_build(
        template=make_template(),
        language="th",
        title="ฝนตกแล้ว",
        body="อย่าลืมพกร่มออกจากบ้านนะ",
        brief=None,
        actor=editor,
    )


def data(message, button: str) -> str:
    return f"action=rich&m={message.code}&b={button}"


def taps() -> list[Event]:
    return list(Event.objects.filter(type=Event.Type.POSTBACK).order_by("id"))


def test_it_answers_tell_me_more_with_the_messages_context(tap, message, llm):
    replies = tap(data(message, "more"), display_text="บอกเพิ่มเติม")

    [request] = llm.control.requests()
    sent = request["body"]["messages"]
    assert {"role": "assistant", "content": f"{message.title}\n\n{message.body}"} in sent
    assert sent[-1] == {"role": "user", "content": f'Tell me more about "{message.title}".'}
    # Chiyo runs LINE in Japanese but tapped a Thai message: the answer is in the message's language.
    assert sent[0]["content"].splitlines()[-1] == "Always answer in the language with the code 'th'."
    assert replies == [f'[th] {INTRO} You wrote: “Tell me more about "{message.title}".”']
    assert message.title in replies[0]


def test_it_answers_tell_me_more_in_a_language_the_user_chose(tap, message, llm):
    LineUser.objects.create(line_user_id=USER, language="ja", language_chosen=True)

    replies = tap(data(message, "more"))

    assert llm.control.requests()[0]["body"]["messages"][0]["content"].endswith("with the code 'ja'.")
    assert replies == [f'[ja] {INTRO} You wrote: “Tell me more about "{message.title}".”']


def test_it_stores_the_tap_and_the_answer_and_remembers_them(tap, message, llm):
    tap(data(message, "more"), display_text="บอกเพิ่มเติม")

    conversation = Conversation.objects.get(source_id=USER)
    said = list(Message.objects.filter(conversation=conversation).order_by("id").values_list("role", "content"))
    assert said[0] == ("user", "บอกเพิ่มเติม")
    assert said[1][0] == "assistant" and message.title in said[1][1]
    turns = [(turn.role, turn.content) for turn in context_load(conversation.pk).turns]
    assert turns[0] == ("assistant", message.recalled_text)
    assert turns[1] == ("user", f'Tell me more about "{message.title}".')


def test_it_puts_the_message_in_the_context_once_however_often_it_is_tapped(tap, message, llm):
    tap(data(message, "more"))
    tap(data(message, "more"))

    recalled = [m for m in llm.control.requests()[-1]["body"]["messages"] if m["content"] == message.recalled_text]
    assert len(recalled) == 1


def test_it_asks_the_question_of_the_runtime_setting(tap, message, llm, set_setting):
    set_setting("richmessages.more.question", "Explain {title}: {body}")

    tap(data(message, "more"))

    assert llm.control.requests()[0]["body"]["messages"][-1]["content"] == f"Explain {message.title}: {message.body}"


def test_it_apologises_in_the_readers_language_when_the_model_is_down(tap, message, llm):
    llm.control.add_fault("500")

    assert tap(data(message, "more")) == [text("apology", "ja")]


@pytest.mark.parametrize(("button", "key"), [("like", "rich_liked"), ("save", "rich_saved")])
def test_it_records_a_like_or_save_once_and_thanks_in_the_readers_language(tap, message, button, key):
    first = tap(data(message, button))
    second = tap(data(message, button))

    assert first == second == [text(key, "ja")]
    [reaction] = RichMessageReaction.objects.all()
    assert (reaction.kind, reaction.rich_message, reaction.line_user.line_user_id) == (button, message, USER)


def test_it_keeps_likes_and_saves_apart(tap, message):
    tap(data(message, "like"))
    tap(data(message, "save"))

    assert sorted(RichMessageReaction.objects.values_list("kind", flat=True)) == ["like", "save"]


def test_it_answers_share_with_a_line_share_link(tap, message):
    [reply] = tap(data(message, "share"))

    link = reply.split("\n")[-1]
    assert reply.startswith(text("rich_share", "ja", link="").strip())
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "line.me", "/R/share")
    shared = parse_qs(parts.query)["text"][0]
    assert shared == f"{message.title}\n{message.body}\n{hosting.public_url(message.image.name)}"


@pytest.mark.parametrize("button", ["more", "like", "save", "share"])
def test_it_records_every_tap_as_an_engagement_event(tap, message, button):
    tap(data(message, button))

    [event] = taps()
    assert (event.rich_message, event.button, event.template_version) == (message, button, message.template_version)
    assert event.line_user == LineUser.objects.get(line_user_id=USER)
    assert event.props == {"code": message.code}


@pytest.mark.parametrize(
    "postback",
    [
        "action=rich&m=NoSuchCode12&b=more",
        "action=rich&m=&b=like",
        "action=rich&b=save",
        "action=rich&m=" + "x" * 400 + "&b=share",
    ],
)
def test_it_answers_a_tap_on_an_unknown_message_politely(tap, postback):
    assert tap(postback) == [text("rich_message_gone", "ja")]
    [event] = taps()
    assert event.rich_message is None and event.props["unknown"] is True


def test_it_answers_a_button_the_message_does_not_have_politely(tap, make_template, editor):
    message = rich_message_build(
        template=make_template("Plain", buttons=["like"]), language="en", title="Hi", body="There", actor=editor
    )

    assert tap(data(message, "share")) == [text("rich_message_gone", "ja")]
    assert taps()[0].props == {"code": message.code, "unknown": True}
    assert tap(data(message, "bogus")) == [text("rich_message_gone", "ja")]


def test_it_still_answers_for_a_message_whose_template_was_archived(tap, message, editor):
    from richmessages import services

    services.rich_template_archive(template=message.template_version.template, actor=editor)

    assert tap(data(message, "like")) == [text("rich_liked", "ja")]
