"""The real line-bot-sdk (sync MessagingApi) over HTTP against the LINE double: sending, LINE's limits, spec checks."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from linebot.v3.messaging import (
    ApiClient,
    BroadcastRequest,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    MessagingApi,
    MulticastRequest,
    NarrowcastRequest,
    PostbackAction,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
    ValidateMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from linesim.line.app import ASPECT_RATIO_RULE
from linesim.line.testing import running_line_double

USER = "U" + "1" * 32
OTHER_USER = "U" + "2" * 32


def error_of(exc_info) -> dict:
    return json.loads(exc_info.value.body)


def push(api, text="hello", **kwargs):
    return api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text=text)]), **kwargs)


def test_it_pushes_a_text_message_and_records_it(line, api):
    response = push(api, "hello there")

    assert len(response.sent_messages) == 1
    [recorded] = line.control.requests(user_id=USER)
    assert recorded["endpoint"] == "pushMessage"
    assert recorded["status"] == 200
    assert recorded["body"]["messages"] == [{"type": "text", "text": "hello there"}]
    [delivered] = line.control.messages(user_id=USER)
    assert delivered["message"]["text"] == "hello there"
    assert delivered["messageId"] == response.sent_messages[0].id


def test_it_replies_with_a_fresh_reply_token(line, api):
    token = line.control.issue_reply_token(USER)

    response = api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="hi")]))

    assert response.sent_messages[0].id
    assert line.control.messages(user_id=USER)[0]["via"] == "replyMessage"


def test_it_rejects_a_spent_reply_token(line, api):
    token = line.control.issue_reply_token(USER)
    api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="first")]))

    with pytest.raises(ApiException) as exc_info:
        api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="second")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info) == {"message": "Invalid reply token"}


def test_it_rejects_an_expired_reply_token(line, api):
    token = line.control.issue_reply_token(USER, ttl=0.05)
    time.sleep(0.1)

    with pytest.raises(ApiException) as exc_info:
        api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="late")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info) == {"message": "Invalid reply token"}


def test_it_expires_reply_tokens_after_the_configured_time():
    with (
        running_line_double(reply_token_ttl=0.05) as line,
        ApiClient(Configuration(host=line.base_url, access_token=line.access_token)) as client,
    ):
        token = line.control.issue_reply_token(USER)
        time.sleep(0.1)
        with pytest.raises(ApiException) as exc_info:
            MessagingApi(client).reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="x")]))
    assert exc_info.value.status == 400


def test_it_rejects_an_unknown_reply_token(api):
    with pytest.raises(ApiException) as exc_info:
        api.reply_message(ReplyMessageRequest(replyToken="made-up", messages=[TextMessage(text="x")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info) == {"message": "Invalid reply token"}


def test_it_rejects_an_empty_bearer_token(line):
    with (
        ApiClient(Configuration(host=line.base_url, access_token="")) as client,
        pytest.raises(ApiException) as exc_info,
    ):
        push(MessagingApi(client))

    assert exc_info.value.status == 401
    assert error_of(exc_info)["message"].startswith("Authentication failed")
    assert exc_info.value.headers["X-Line-Request-Id"]


def test_it_rejects_a_request_without_an_authorization_header(line):
    request = urllib.request.Request(
        line.base_url + "/v2/bot/message/quota", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc_info:
        urllib.request.urlopen(request)

    assert exc_info.value.code == 401
    assert json.loads(exc_info.value.read())["message"].startswith("Authentication failed")


def test_it_rejects_a_wrong_bearer_token(line):
    configuration = Configuration(host=line.base_url, access_token="not-the-token")
    with ApiClient(configuration) as client, pytest.raises(ApiException) as exc_info:
        push(MessagingApi(client))

    assert exc_info.value.status == 401


def test_it_accepts_any_non_empty_token_when_configured():
    with (
        running_line_double(accept_any_token=True) as line,
        ApiClient(Configuration(host=line.base_url, access_token="whatever")) as client,
    ):
        assert push(MessagingApi(client)).sent_messages


def test_it_rejects_more_than_five_messages(api):
    request = PushMessageRequest.construct(to=USER, messages=[TextMessage(text=str(n)) for n in range(6)])

    with pytest.raises(ApiException) as exc_info:
        api.push_message(request)

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"] == [{"message": "Size must be between 1 and 5", "property": "messages"}]


def test_it_rejects_an_empty_message_list(api):
    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest.construct(to=USER, messages=[]))

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"][0]["property"] == "messages"


def test_it_rejects_a_multicast_to_more_than_500_users(api):
    recipients = [f"U{n:032x}" for n in range(501)]

    with pytest.raises(ApiException) as exc_info:
        api.multicast(MulticastRequest.construct(to=recipients, messages=[TextMessage(text="hi")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]


def test_it_multicasts_to_500_users(line, api):
    recipients = [f"U{n:032x}" for n in range(500)]

    api.multicast(MulticastRequest(to=recipients, messages=[TextMessage(text="hi")]))

    assert line.control.requests(endpoint="multicast")[0]["to"] == recipients
    assert line.control.messages(user_id=recipients[-1])[0]["message"]["text"] == "hi"


def test_it_rejects_a_text_longer_than_5000_utf16_units(api):
    # 2,501 emoji are 2,501 code points but 5,002 UTF-16 units.
    with pytest.raises(ApiException) as exc_info:
        push(api, "😀" * 2501)

    assert exc_info.value.status == 400
    assert error_of(exc_info) == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Length must be between 0 and 5000", "property": "messages[0].text"}],
    }


def test_it_accepts_a_text_of_exactly_5000_utf16_units(api):
    assert push(api, "😀" * 2500).sent_messages


def test_it_rejects_a_text_message_without_text(api):
    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest.construct(to=USER, messages=[TextMessage.construct(type="text")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"] == [{"message": "must be specified", "property": "messages[0].text"}]


def test_it_rejects_an_unknown_message_type(api):
    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest.construct(to=USER, messages=[TextMessage.construct(type="hologram")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"][0]["property"] == "messages[0].type"


def test_it_rejects_a_request_without_a_recipient(api):
    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest.construct(messages=[TextMessage(text="x")]))

    assert error_of(exc_info)["details"] == [{"message": "must be specified", "property": "to"}]


def test_it_rejects_a_malformed_recipient_id(api):
    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest(to="someone", messages=[TextMessage(text="x")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"][0]["property"] == "to"


def flex_bubble(box_layout="vertical"):
    body = FlexBox.construct(
        type="box",
        layout=box_layout,
        contents=[
            FlexText(text="Order #1"),
            FlexButton(action=PostbackAction(label="Confirm", data="confirm=1")),
        ],
    )
    return FlexMessage(altText="order", contents=FlexBubble(body=body))


def test_it_accepts_a_flex_bubble(line, api):
    api.push_message(PushMessageRequest(to=USER, messages=[flex_bubble()]))

    [delivered] = line.control.messages(user_id=USER)
    assert delivered["message"]["contents"]["body"]["contents"][1]["action"]["data"] == "confirm=1"


def test_it_rejects_a_flex_box_with_an_invalid_layout(api):
    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest(to=USER, messages=[flex_bubble(box_layout="diagonal")]))

    assert exc_info.value.status == 400
    assert error_of(exc_info)["details"][0]["property"] == "messages[0].contents.body.layout"


def test_it_rejects_a_body_that_is_not_json(line):
    request = urllib.request.Request(
        line.base_url + "/v2/bot/message/push",
        data=b"{not json",
        method="POST",
        headers={"Authorization": f"Bearer {line.access_token}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as exc_info:
        urllib.request.urlopen(request)

    assert exc_info.value.code == 400
    assert json.loads(exc_info.value.read())["message"] == "The request body could not be parsed as JSON"
    assert line.control.requests(endpoint="pushMessage")[0]["body"] == "{not json"


def test_it_switches_spec_checks_off(line, api):
    line.control.configure(specChecks=False)

    assert api.push_message(PushMessageRequest.construct(to=USER, messages=[TextMessage.construct(type="text")]))


def test_it_validates_messages_without_sending_them(line, api):
    request = ValidateMessageRequest(messages=[TextMessage(text="ok")])
    api.validate_push(request)
    api.validate_reply(request)
    api.validate_multicast(request)
    api.validate_broadcast(request)
    api.validate_narrowcast(request)

    assert line.control.messages() == []
    with pytest.raises(ApiException) as exc_info:
        api.validate_push(ValidateMessageRequest.construct(messages=[TextMessage.construct(type="text")]))
    assert exc_info.value.status == 400


def test_it_broadcasts_to_every_follower(line, api):
    line.control.send_webhook(type="follow", userId=USER)
    line.control.send_webhook(type="follow", userId=OTHER_USER)

    api.broadcast(BroadcastRequest(messages=[TextMessage(text="news")]))

    assert line.control.messages(user_id=USER)[0]["message"]["text"] == "news"
    assert line.control.messages(user_id=OTHER_USER)[0]["message"]["text"] == "news"


def test_it_narrowcasts_and_reports_progress(line, api):
    line.control.send_webhook(type="follow", userId=USER)

    response = api.narrowcast_with_http_info(NarrowcastRequest(messages=[TextMessage(text="offer")]))
    request_id = response.headers["X-Line-Request-Id"]
    first = api.get_narrowcast_progress(request_id)
    progress = api.get_narrowcast_progress(request_id)

    assert response.status_code == 202
    assert first.phase == "waiting"
    assert progress.phase == "succeeded"
    assert progress.success_count == 1


def test_it_answers_404_for_the_progress_of_an_unknown_narrowcast(api):
    with pytest.raises(ApiException) as exc_info:
        api.get_narrowcast_progress(str(uuid.uuid4()))

    assert exc_info.value.status == 404


def test_it_requires_the_request_id_for_narrowcast_progress(line):
    request = urllib.request.Request(
        line.base_url + "/v2/bot/message/progress/narrowcast", headers={"Authorization": f"Bearer {line.access_token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc_info:
        urllib.request.urlopen(request)

    assert exc_info.value.code == 400
    assert json.loads(exc_info.value.read())["details"] == [{"message": "must be specified", "property": "requestId"}]


def test_it_shows_the_loading_indicator(line, api):
    api.show_loading_animation(ShowLoadingAnimationRequest(chatId=USER, loadingSeconds=10))

    [entry] = [entry for entry in line.control.timeline()["entries"] if entry["kind"] == "loading"]
    assert entry["chat"] == "user:" + USER
    assert entry["seconds"] == 10


def test_it_rejects_loading_seconds_that_are_not_a_multiple_of_five(api):
    with pytest.raises(ApiException) as exc_info:
        api.show_loading_animation(ShowLoadingAnimationRequest(chatId=USER, loadingSeconds=7))

    assert exc_info.value.status == 400


def test_it_rejects_loading_seconds_above_sixty(api):
    with pytest.raises(ApiException) as exc_info:
        api.show_loading_animation(ShowLoadingAnimationRequest.construct(chatId=USER, loadingSeconds=65))

    assert error_of(exc_info)["details"][0]["property"] == "loadingSeconds"


def test_it_rejects_a_loading_indicator_for_a_group(api):
    with pytest.raises(ApiException) as exc_info:
        api.show_loading_animation(ShowLoadingAnimationRequest(chatId="C" + "1" * 32, loadingSeconds=5))

    assert exc_info.value.status == 400


def test_it_gives_every_response_a_request_id(line, api):
    ok = api.push_message_with_http_info(PushMessageRequest(to=USER, messages=[TextMessage(text="x")]))
    not_found = urllib.request.Request(line.base_url + "/v2/bot/nothing-here")
    with pytest.raises(urllib.error.HTTPError) as exc_info:
        urllib.request.urlopen(not_found)

    assert uuid.UUID(ok.headers["X-Line-Request-Id"])
    assert exc_info.value.code == 404
    assert uuid.UUID(exc_info.value.headers["X-Line-Request-Id"])


def test_it_records_requests_filtered_by_user_and_endpoint(line, api):
    push(api, "one")
    api.push_message(PushMessageRequest(to=OTHER_USER, messages=[TextMessage(text="two")]))
    api.show_loading_animation(ShowLoadingAnimationRequest(chatId=USER, loadingSeconds=5))

    assert [entry["endpoint"] for entry in line.control.requests(user_id=USER)] == [
        "pushMessage",
        "showLoadingAnimation",
    ]
    assert [entry["to"] for entry in line.control.requests(endpoint="pushMessage")] == [[USER], [OTHER_USER]]
    line.control.clear_requests()
    assert line.control.requests() == []


def test_it_records_rejected_requests_with_their_status(line, api):
    with pytest.raises(ApiException):
        push(api, "😀" * 2501)

    assert [entry["status"] for entry in line.control.requests(endpoint="pushMessage")] == [400]


def test_it_answers_405_for_a_known_path_with_the_wrong_method(line):
    request = urllib.request.Request(
        line.base_url + "/v2/bot/message/push", headers={"Authorization": f"Bearer {line.access_token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc_info:
        urllib.request.urlopen(request)

    assert exc_info.value.code == 405
    assert exc_info.value.headers["X-Line-Request-Id"]


def test_it_rejects_an_alt_text_over_1500_characters(api):
    message = flex_bubble()
    message.alt_text = "a" * 1501

    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest(to=USER, messages=[message]))

    assert error_of(exc_info)["details"] == [
        {"message": "Length must be between 1 and 1500", "property": "messages[0].altText"}
    ]


def _flex(contents: dict) -> dict:
    return {"to": USER, "messages": [{"type": "flex", "altText": "a", "contents": contents}]}


def _bubble(text: str = "hi") -> dict:
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": text}]},
    }


@pytest.mark.parametrize(
    ("contents", "detail"),
    [
        (
            {"type": "carousel", "contents": [_bubble() for _ in range(13)]},
            {"message": "Size must be between 1 and 12", "property": "messages[0].contents.contents"},
        ),
        (
            # Thai travels escaped (\\u0e01, six bytes a letter): 5,001 of them make a bubble over 30,000 bytes.
            _bubble("ก" * 5001),
            {"message": "Size must be at most 30000 bytes", "property": "messages[0].contents"},
        ),
        (
            {"type": "carousel", "contents": [_bubble("ก" * 4500) for _ in range(2)]},
            {"message": "Size must be at most 50000 bytes", "property": "messages[0].contents"},
        ),
        (
            {**_bubble(), "hero": {"type": "image", "url": "https://example.com/a.jpg", "aspectRatio": "1:4"}},
            {"message": ASPECT_RATIO_RULE, "property": "messages[0].contents.hero.aspectRatio"},
        ),
        (
            {
                "type": "carousel",
                "contents": [
                    {**_bubble(), "hero": {"type": "image", "url": "https://e.com/a.png", "aspectRatio": "wide"}}
                ],
            },
            {"message": ASPECT_RATIO_RULE, "property": "messages[0].contents.contents[0].hero.aspectRatio"},
        ),
        (
            {"type": "carousel", "contents": [_bubble(), _bubble("ก" * 5001)]},
            {"message": "Size must be at most 30000 bytes", "property": "messages[0].contents.contents[1]"},
        ),
    ],
)
def test_it_rejects_flex_containers_over_lines_limits(api, contents, detail):
    request = PushMessageRequest.from_dict(_flex(contents))

    with pytest.raises(ApiException) as exc_info:
        api.validate_push(ValidateMessageRequest(messages=request.messages))

    assert error_of(exc_info)["details"] == [detail]


def test_it_accepts_a_carousel_of_twelve_bubbles(api):
    request = PushMessageRequest.from_dict(_flex({"type": "carousel", "contents": [_bubble() for _ in range(12)]}))

    api.validate_push(ValidateMessageRequest(messages=request.messages))


def test_it_answers_a_request_it_cannot_handle_in_lines_error_shape(line, api):
    line.control.configure(specChecks=False)

    with pytest.raises(ApiException) as exc_info:
        api.push_message(PushMessageRequest.construct(messages=[TextMessage(text="no recipient")]))

    assert exc_info.value.status == 500
    assert error_of(exc_info) == {"message": "Internal server error"}
    assert exc_info.value.headers["X-Line-Request-Id"]
