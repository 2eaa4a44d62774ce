"""The double acting as LINE towards a bot: signed webhooks, every event type and source, redelivery, and the
bot's status and latency recorded. A small aiohttp receiver checks each post with the SDK's WebhookParser."""

import base64

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.messaging import ReplyMessageRequest, TextMessage
from linebot.v3.webhooks import (
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    JoinEvent,
    LeaveEvent,
    LocationMessageContent,
    MemberJoinedEvent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
)
from ulid import ULID

from linesim.line.testing import ControlError
from linesim.line.webhook import signature
from tests.line_samples import sample_payload, with_own_ids

USER = "U" + "9" * 32
GROUP = "C" + "a" * 32
ROOM = "R" + "b" * 32

EVENTS = [
    ({"type": "text", "text": "hello"}, MessageEvent, TextMessageContent),
    ({"type": "image"}, MessageEvent, ImageMessageContent),
    (
        {"type": "file", "fileName": "notes.txt", "contentBase64": base64.b64encode(b"notes").decode()},
        MessageEvent,
        FileMessageContent,
    ),
    ({"type": "sticker", "packageId": "446", "stickerId": "1988"}, MessageEvent, StickerMessageContent),
    (
        {"type": "location", "title": "Shibuya", "latitude": 35.66, "longitude": 139.70},
        MessageEvent,
        LocationMessageContent,
    ),
    ({"type": "follow"}, FollowEvent, None),
    ({"type": "unfollow"}, UnfollowEvent, None),
    ({"type": "join", "groupId": GROUP}, JoinEvent, None),
    ({"type": "leave", "groupId": GROUP}, LeaveEvent, None),
    ({"type": "memberJoined", "groupId": GROUP}, MemberJoinedEvent, None),
    ({"type": "postback", "data": "action=buy&item=1"}, PostbackEvent, None),
    ({"type": "unsend", "messageId": "325708"}, UnsendEvent, None),
]


@pytest.mark.parametrize(("spec", "event_class", "content_class"), EVENTS, ids=[spec["type"] for spec, *_ in EVENTS])
def test_it_posts_a_signed_event_the_sdk_parses(line, receiver, spec, event_class, content_class):
    result = line.control.send_webhook(userId=USER, **spec)

    [post] = receiver.posts
    assert post["valid"]
    [event] = post["events"]
    assert isinstance(event, event_class)
    if content_class:
        assert isinstance(event.message, content_class)
    assert event.webhook_event_id == result["event"]["webhookEventId"]
    assert result["delivery"]["status"] == 200


def test_it_signs_with_the_hmac_of_the_raw_body(line, receiver):
    line.control.send_webhook(type="text", userId=USER, text="sign me")

    [post] = receiver.posts
    assert post["signature"] == signature(line.channel_secret, post["body"].encode())


def test_it_fails_the_bots_check_with_a_wrong_channel_secret(line, receiver):
    receiver.parser = WebhookParser("another-secret")

    result = line.control.send_webhook(type="text", userId=USER, text="hi")

    assert receiver.posts[0]["valid"] is False
    assert result["delivery"]["status"] == 400


def test_it_gives_each_event_a_ulid_and_a_delivery_context(line, receiver):
    event = line.control.send_webhook(type="text", userId=USER, text="hi")["event"]

    assert str(ULID.from_str(event["webhookEventId"])) == event["webhookEventId"]
    assert event["deliveryContext"] == {"isRedelivery": False}
    assert event["mode"] == "active"
    assert event["timestamp"] > 1_700_000_000_000


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"groupId": GROUP}, {"type": "group", "groupId": GROUP, "userId": USER}),
        ({"roomId": ROOM}, {"type": "room", "roomId": ROOM, "userId": USER}),
        ({}, {"type": "user", "userId": USER}),
    ],
)
def test_it_sends_from_users_groups_and_rooms(line, receiver, where, expected):
    event = line.control.send_webhook(type="text", userId=USER, text="hi", **where)["event"]

    assert event["source"] == expected
    assert receiver.posts[0]["events"][0].source.type == expected["type"]


def test_it_accepts_an_events_reply_token_once(line, receiver, api):
    token = line.control.send_webhook(type="text", userId=USER, text="hi")["event"]["replyToken"]

    api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="hello back")]))

    assert line.control.messages(user_id=USER)[0]["message"]["text"] == "hello back"


def test_it_delivers_a_group_reply_to_the_group(line, receiver, api):
    token = line.control.send_webhook(type="text", userId=USER, groupId=GROUP, text="hi all")["event"]["replyToken"]

    api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="hello group")]))

    assert line.control.messages(chat="group:" + GROUP)[0]["message"]["text"] == "hello group"


def test_it_redelivers_the_same_event(line, receiver):
    first = line.control.send_webhook(type="text", userId=USER, text="again")["event"]

    again = line.control.redeliver(first["webhookEventId"])["event"]

    assert again["webhookEventId"] == first["webhookEventId"]
    assert again["replyToken"] == first["replyToken"]
    assert again["deliveryContext"] == {"isRedelivery": True}
    assert receiver.posts[1]["events"][0].delivery_context.is_redelivery is True


def test_it_refuses_to_redeliver_an_unknown_event(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.redeliver("01H0000000000000000000000")

    assert exc_info.value.status == 400


def test_it_records_the_bots_status_and_latency(line, receiver):
    receiver.status = 500

    line.control.send_webhook(type="text", userId=USER, text="hi")

    [delivery] = line.control.deliveries()
    assert delivery["status"] == 500
    assert delivery["latencyMs"] > 0
    assert delivery["chats"] == ["user:" + USER]


def test_it_records_an_unreachable_bot(line):
    line.control.configure(webhookUrl="http://127.0.0.1:9/line/webhook")

    delivery = line.control.send_webhook(type="text", userId=USER, text="hi")["delivery"]

    assert delivery["status"] is None
    assert delivery["error"]


def test_it_rejects_an_event_it_cannot_build(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.send_webhook(type="text", userId=USER)

    assert exc_info.value.status == 400
    assert "text" in exc_info.value.body["message"]


def test_it_rejects_an_unknown_event_type(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.send_webhook(type="telepathy", userId=USER)

    assert exc_info.value.status == 400


def test_it_tracks_followers_through_follow_and_unfollow(line, receiver, api):
    line.control.send_webhook(type="follow", userId=USER)
    assert api.get_followers().user_ids == [USER]

    line.control.send_webhook(type="unfollow", userId=USER)

    assert api.get_followers().user_ids == []
    assert line.control.send_webhook(type="follow", userId=USER)["event"]["follow"] == {"isUnblocked": True}


def test_it_sends_events_in_process_through_its_python_api(line, receiver):
    result = line.call(line.double.webhooks.send({"type": "text", "userId": USER, "text": "direct"}))

    assert result["delivery"]["status"] == 200
    assert receiver.posts[0]["events"][0].message.text == "direct"


def test_it_replays_every_fixture_event_through_the_sender(line, receiver):
    events = with_own_ids(sample_payload()["events"])

    for event in events:
        delivery = line.control.post_events([event])
        assert delivery["status"] == 200

    assert len(receiver.posts) == len(events)
    assert all(post["valid"] for post in receiver.posts)
    parsed = [post["events"][0] for post in receiver.posts]
    assert [event.type for event in parsed] == [event["type"] for event in events]
