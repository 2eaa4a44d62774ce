"""The control API's own rules: bad input is refused with a clear message and changes nothing."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from linebot.v3.messaging import (
    ChatReference,
    MarkMessagesAsReadRequest,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException

from linesim.line.testing import ControlError

USER = "U" + "d" * 32
GROUP = "C" + "e" * 32


def raw_post(line, path, body: bytes):
    request = urllib.request.Request(line.base_url + path, data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc_info:
        urllib.request.urlopen(request)
    return exc_info.value.code, json.loads(exc_info.value.read())


def test_it_refuses_a_control_body_that_is_not_json(line):
    assert raw_post(line, "/_control/faults", b"{nope") == (400, {"message": "the body is not JSON"})


def test_it_refuses_a_control_body_that_is_not_an_object(line):
    assert raw_post(line, "/_control/faults", b"[1]") == (400, {"message": "the body must be a JSON object"})


def test_it_refuses_an_unknown_setting(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.configure(colour="green")

    assert "unknown setting colour" in exc_info.value.body["message"]


def test_it_refuses_a_setting_of_the_wrong_type(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.configure(monthlyQuota="lots")

    assert exc_info.value.status == 400
    assert line.control.request("GET", "config")["monthlyQuota"] == 0


@pytest.mark.parametrize(
    "faults",
    [
        {"seed": "x"},
        {"latencyMs": -5},
        {"dropRate": 2},
        {"errors": "all"},
        {"errors": [{"status": 500, "rate": 1.5}]},
        {"errors": [{"status": 500, "rate": 1.0, "count": 0}]},
        {"lostResponses": {"pushMessage": 1}},
        {"lostResponses": [{"endpoint": "pushMessage", "count": "once"}]},
    ],
)
def test_it_refuses_malformed_faults(line, faults):
    with pytest.raises(ControlError) as exc_info:
        line.control.request("POST", "faults", faults)

    assert exc_info.value.status == 400


def test_it_refuses_a_malformed_rate_limit(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.request("POST", "rate-limits", {"endpoint": "pushMessage", "requests": 0})

    assert exc_info.value.status == 400


def test_it_refuses_a_malformed_timeline_cursor(line):
    with pytest.raises(ControlError):
        line.control.request("GET", "timeline", since="yesterday")


def test_it_refuses_a_file_event_without_content(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.send_webhook(type="file", userId=USER)

    assert "content" in exc_info.value.body["message"]


def test_it_refuses_content_that_is_not_base64(line):
    with pytest.raises(ControlError):
        line.control.send_webhook(type="image", userId=USER, contentBase64="***")


def test_it_refuses_a_location_without_coordinates(line):
    with pytest.raises(ControlError):
        line.control.send_webhook(type="location", userId=USER, title="Somewhere")


def test_it_refuses_a_postback_without_data(line):
    with pytest.raises(ControlError):
        line.control.send_webhook(type="postback", userId=USER)


def test_it_refuses_raw_events_that_are_not_a_list(line):
    with pytest.raises(ControlError):
        line.control.request("POST", "webhook/events", {"events": "one"})


def test_it_reports_a_missing_webhook_url(line):
    delivery = line.control.send_webhook(type="text", userId=USER, text="hi")["delivery"]

    assert delivery["status"] is None
    assert delivery["error"] == "no webhook URL is set"


def test_it_serves_the_content_of_a_sent_file(line):
    message = line.control.send_webhook(type="file", userId=USER, contentBase64="aGVsbG8=", fileName="a.txt")["event"]

    with urllib.request.urlopen(f"{line.base_url}/_control/contents/{message['message']['id']}") as response:
        assert response.read() == b"hello"


def test_it_serves_content_stored_through_the_control_api(line, blob_api):
    message_id = line.control.add_content(b"%PDF-1.4 report", content_type="application/pdf", file_name="r.pdf")

    assert blob_api.get_message_content(message_id) == b"%PDF-1.4 report"


def test_it_refuses_content_under_an_id_line_would_never_give(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.add_content(b"x", message_id="../etc")

    assert exc_info.value.status == 400
    assert "digits" in exc_info.value.body["message"]


def test_it_refuses_stored_content_that_is_not_base64(line):
    with pytest.raises(ControlError) as exc_info:
        line.control.request("POST", "contents", {"contentBase64": "%%%"})

    assert exc_info.value.status == 400


def test_it_accepts_a_reply_with_a_registered_reply_token(line, api):
    token = line.control.issue_reply_token(USER, reply_token="nHuyWiB7yP5Zw52FIkcQobQuGDXCTA")

    api.reply_message(ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="from a recording")]))

    assert [m["message"]["text"] for m in line.control.messages(user_id=USER)] == ["from a recording"]


def test_it_refuses_to_register_a_reply_token_twice(line):
    line.control.issue_reply_token(USER, reply_token="same-token")

    with pytest.raises(ControlError) as exc_info:
        line.control.issue_reply_token(USER, reply_token="same-token")

    assert exc_info.value.status == 400


def test_it_waits_for_messages_until_the_bot_has_answered(line, api):
    timer = threading.Timer(
        0.2, lambda: api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="late")]))
    )
    timer.start()

    messages = line.control.wait_for_messages(user_id=USER, timeout=5)

    assert messages[0]["message"]["text"] == "late"


def test_it_gives_up_waiting_for_messages_after_the_timeout(line):
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        line.control.wait_for_messages(user_id=USER, timeout=0.2)

    assert time.monotonic() - started < 2


def test_it_lists_users_and_groups(line):
    line.control.add_user(USER, "Mei")
    line.control.add_group(GROUP, "Team", members=[USER])
    line.control.request("POST", "groups", {"type": "room", "members": [USER]})

    assert [user["displayName"] for user in line.control.request("GET", "users")["users"]] == ["Mei"]
    groups = line.control.request("GET", "groups")["groups"]
    assert groups[0]["groupName"] == "Team"
    assert groups[1]["roomId"].startswith("R")


def test_it_lets_the_bot_leave_a_group(line, api):
    line.control.add_group(GROUP, "Team", members=[USER])

    api.leave_group(GROUP)

    assert line.control.timeline()["entries"][-1]["kind"] == "bot_left"


def test_it_rejects_a_multicast_to_a_group_id(api):
    with pytest.raises(ApiException) as exc_info:
        api.multicast(MulticastRequest(to=[GROUP], messages=[TextMessage(text="x")]))

    assert json.loads(exc_info.value.body)["details"][0]["property"] == "to[0]"


def test_it_narrowcasts_to_at_most_the_limit(line, api, receiver):
    for digit in "123":
        line.control.send_webhook(type="follow", userId="U" + digit * 32)

    api.narrowcast(NarrowcastRequest.from_dict({"messages": [{"type": "text", "text": "x"}], "limit": {"max": 2}}))

    assert len(line.control.requests(endpoint="narrowcast")[0]["to"]) == 2


def test_it_marks_a_chat_as_read(line, api):
    api.mark_messages_as_read(MarkMessagesAsReadRequest(chat=ChatReference(userId=USER)))

    assert line.control.requests(endpoint="markMessagesAsRead")[0]["to"] == [USER]


def test_it_links_rich_menus_in_bulk(line, api, blob_api):
    from tests.linesim.test_resources import MENU_PNG, rich_menu_request

    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id
    blob_api.set_rich_menu_image(rich_menu_id, MENU_PNG, _headers={"Content-Type": "image/png"})

    api.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(richMenuId=rich_menu_id, userIds=[USER]))
    assert api.get_rich_menu_id_of_user(USER).rich_menu_id == rich_menu_id
    api.unlink_rich_menu_id_from_users(RichMenuBulkUnlinkRequest(userIds=[USER]))

    with pytest.raises(ApiException):
        api.get_rich_menu_id_of_user(USER)
