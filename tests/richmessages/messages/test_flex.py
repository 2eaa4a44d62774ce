"""The Flex bubble of a rich message, and LINE's limits, enforced before anything is sent."""

import copy

import pytest
from linebot.v3.messaging import PushMessageRequest

from core.errors import ValidationError
from core.unicode import utf16_len
from richmessages import flex

URL = "https://bot.example.com/media/rich/composed/" + "a" * 64 + ".jpg"


def make_bubble(**changes):
    fields = {
        "image_url": URL,
        "image_width": 1024,
        "image_height": 683,
        "title": "Good morning",
        "body": "A fresh start.",
        "buttons": ["more", "like", "save", "share"],
        "code": "AbCdEfGhIjKl",
        "language": "en",
        **changes,
    }
    return flex.bubble(**fields)


def actions(container) -> list[dict]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("action"), dict):
                found.append(node["action"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(container)
    return found


def test_it_puts_the_image_in_the_hero_with_its_aspect_ratio():
    hero = make_bubble()["hero"]

    assert hero == {"type": "image", "url": URL, "size": "full", "aspectRatio": "1024:683", "aspectMode": "cover"}


def test_it_sends_the_hero_image_as_built():
    hero = flex.flex_message(make_bubble(), alt="t")["contents"]["hero"]

    assert (hero["url"], hero["aspectRatio"]) == (URL, "1024:683")


def test_it_puts_the_title_and_body_in_the_body():
    texts = make_bubble()["body"]["contents"]

    assert [(t["text"], t.get("weight")) for t in texts] == [("Good morning", "bold"), ("A fresh start.", None)]
    assert all(t["wrap"] for t in texts)


def test_it_carries_a_short_id_in_each_buttons_postback():
    found = actions(make_bubble())

    assert [a["data"] for a in found] == [
        f"action=rich&m=AbCdEfGhIjKl&b={b}" for b in ("more", "like", "save", "share")
    ]
    assert [a["label"] for a in found] == ["Tell me more", "Like", "Save", "Share"]


def test_it_labels_the_buttons_in_the_messages_language():
    found = actions(make_bubble(language="th"))

    assert [a["label"] for a in found] == ["บอกเพิ่มเติม", "ถูกใจ", "บันทึก", "แชร์"]


def test_it_leaves_out_the_footer_without_buttons():
    assert "footer" not in make_bubble(buttons=[])


def test_it_refuses_an_unknown_button():
    with pytest.raises(ValidationError) as raised:
        make_bubble(buttons=["more", "buy"])

    assert "buttons" in raised.value.details


def test_it_derives_the_alt_text_from_the_title():
    message = flex.flex_message(make_bubble(), alt="  Good\nmorning ")

    assert message["altText"] == "Good morning"


def test_it_cuts_the_alt_text_to_1500_characters_as_line_counts_them():
    alt = flex.alt_text("😀" * 1000)  # 2,000 UTF-16 units

    assert utf16_len(alt) <= flex.MAX_ALT_TEXT
    assert alt.endswith("…")


def test_it_refuses_postback_data_over_300_characters():
    with pytest.raises(ValidationError, match="at most 300"):
        make_bubble(code="x" * 290)


def test_it_refuses_an_image_taller_than_three_times_its_width():
    with pytest.raises(ValidationError) as raised:
        make_bubble(image_width=300, image_height=901)

    assert "image" in raised.value.details


def test_it_refuses_an_image_url_over_2000_characters():
    with pytest.raises(ValidationError):
        make_bubble(image_url="https://bot.example.com/" + "a" * 2000)


def test_it_refuses_a_bubble_over_30_kb():
    bubble = make_bubble(body="ก" * 5000)  # 30,000 bytes escaped

    with pytest.raises(ValidationError, match="30000"):
        flex.flex_message(bubble, alt="t")


def test_it_builds_a_carousel_of_up_to_12_bubbles():
    message = flex.carousel_message([make_bubble() for _ in range(12)], alt="Twelve")

    assert message["contents"]["type"] == "carousel" and len(message["contents"]["contents"]) == 12


def test_it_refuses_a_carousel_of_13_bubbles():
    with pytest.raises(ValidationError, match="1 to 12 bubbles, not 13"):
        flex.carousel_message([make_bubble() for _ in range(13)], alt="Too many")


def test_it_refuses_a_carousel_over_50_kb():
    bubbles = [make_bubble(body="ก" * 2500) for _ in range(4)]  # about 15 KB each

    with pytest.raises(ValidationError, match=r"carousel is \d+ bytes"):
        flex.carousel_message(bubbles, alt="Heavy")


@pytest.mark.parametrize(
    "message",
    [
        None,
        "flex",
        {"type": "text", "text": "hi"},
        {"type": "flex", "altText": "", "contents": {"type": "bubble"}},
        {"type": "flex", "altText": "a", "contents": {"type": "box"}},
        {"type": "flex", "altText": "a", "contents": {"type": "carousel", "contents": "no"}},
    ],
)
def test_it_refuses_what_is_not_a_flex_message(message):
    with pytest.raises(ValidationError):
        flex.message_check(message)


def test_it_finds_long_postback_data_anywhere_in_the_message():
    message = flex.flex_message(make_bubble(), alt="t")
    broken = copy.deepcopy(message)
    broken["contents"]["footer"]["contents"][0]["action"]["data"] = "action=rich&m=" + "x" * 300

    with pytest.raises(ValidationError, match="postback"):
        flex.message_check(broken)


def test_it_builds_the_message_exactly_as_the_sdk_sends_it():
    message = flex.flex_message(make_bubble(language="ja"), alt="おはよう")

    sent = PushMessageRequest.from_dict({"to": "U" + "0" * 32, "messages": [message]}).to_dict()["messages"][0]

    assert sent == message
    assert message["contents"]["hero"]["animated"] is False  # the SDK's default, stored as sent


def test_it_reads_its_own_postback_data():
    assert flex.postback_parse(flex.postback_data("Abc-_123", "save")) == ("Abc-_123", "save")
