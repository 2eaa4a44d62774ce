"""Retry keys, rate limits, quota and injected faults, seen through the real sync line-bot-sdk."""

import json
import time
import uuid

import pytest
import urllib3
from linebot.v3.messaging import (
    BroadcastRequest,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException

from linesim.line.testing import ControlError

USER = "U" + "3" * 32


def push(api, text="hi", **kwargs):
    return api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text=text)]), **kwargs)


def test_it_answers_a_repeated_retry_key_with_409_and_the_accepted_request_id(line, api):
    key = str(uuid.uuid4())
    first = api.push_message_with_http_info(
        PushMessageRequest(to=USER, messages=[TextMessage(text="once")]), x_line_retry_key=key
    )

    with pytest.raises(ApiException) as exc_info:
        push(api, "once", x_line_retry_key=key)

    assert exc_info.value.status == 409
    assert exc_info.value.headers["x-line-accepted-request-id"] == first.headers["X-Line-Request-Id"]
    body = json.loads(exc_info.value.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"][0]["id"] == first.data.sent_messages[0].id
    assert len(line.control.messages(user_id=USER)) == 1


def test_it_accepts_a_retry_key_on_multicast_and_broadcast(line, api):
    key = str(uuid.uuid4())
    api.multicast(MulticastRequest(to=[USER], messages=[TextMessage(text="m")]), x_line_retry_key=key)
    api.broadcast(BroadcastRequest(messages=[TextMessage(text="b")]), x_line_retry_key=str(uuid.uuid4()))

    with pytest.raises(ApiException) as exc_info:
        api.multicast(MulticastRequest(to=[USER], messages=[TextMessage(text="m")]), x_line_retry_key=key)
    assert exc_info.value.status == 409


def test_it_rejects_a_retry_key_on_reply(line, api):
    token = line.control.issue_reply_token(USER)
    request = ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="x")])

    with pytest.raises(ApiException) as exc_info:
        api.reply_message(request, _headers={"X-Line-Retry-Key": str(uuid.uuid4())})

    assert exc_info.value.status == 400
    assert "X-Line-Retry-Key" in json.loads(exc_info.value.body)["message"]


def test_it_rejects_a_retry_key_that_is_not_a_uuid(api):
    with pytest.raises(ApiException) as exc_info:
        push(api, x_line_retry_key="not-a-uuid")

    assert exc_info.value.status == 400
    assert json.loads(exc_info.value.body)["details"][0]["property"] == "X-Line-Retry-Key"


def test_it_keeps_a_retry_key_usable_after_a_failed_attempt(line, api):
    key = str(uuid.uuid4())
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 500, "rate": 1.0}])
    with pytest.raises(ApiException) as exc_info:
        push(api, x_line_retry_key=key)
    assert exc_info.value.status == 500

    line.control.clear_faults()

    assert push(api, x_line_retry_key=key).sent_messages
    attempts = line.control.requests(endpoint="pushMessage")
    assert [(entry["status"], entry["retryKey"]) for entry in attempts] == [(500, key), (200, key)]
    assert attempts[0]["body"] == attempts[1]["body"]


def test_it_rate_limits_each_endpoint_separately(line, api):
    line.control.set_rate_limit("pushMessage", 2, per_seconds=60)
    push(api)
    push(api)

    with pytest.raises(ApiException) as exc_info:
        push(api)

    assert exc_info.value.status == 429
    assert json.loads(exc_info.value.body) == {"message": "The API rate limit has been exceeded. Try again later."}
    assert api.get_message_quota().type == "none"


def test_it_reopens_a_rate_limit_after_its_window(line, api):
    line.control.set_rate_limit("pushMessage", 1, per_seconds=0.2)
    push(api)
    with pytest.raises(ApiException):
        push(api)

    time.sleep(0.25)

    assert push(api).sent_messages


def test_it_switches_rate_limits_off(line, api):
    line.control.set_rate_limit("pushMessage", 1, per_seconds=60)
    line.control.configure(rateLimits=False)

    push(api)
    assert push(api).sent_messages


def test_it_refuses_pushes_beyond_the_monthly_quota(line, api):
    line.control.configure(monthlyQuota=2)
    push(api)
    push(api)

    with pytest.raises(ApiException) as exc_info:
        push(api)

    assert exc_info.value.status == 429
    assert json.loads(exc_info.value.body) == {"message": "You have reached your monthly limit."}
    assert api.get_message_quota().value == 2
    assert api.get_message_quota_consumption().total_usage == 2


def test_it_does_not_count_replies_against_the_quota(line, api):
    api.reply_message(
        ReplyMessageRequest(replyToken=line.control.issue_reply_token(USER), messages=[TextMessage(text="x")])
    )
    push(api)

    assert api.get_message_quota_consumption().total_usage == 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_it_injects_an_error_status_on_one_endpoint(line, api, status):
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": status, "rate": 1.0}])

    with pytest.raises(ApiException) as exc_info:
        push(api)

    assert exc_info.value.status == status
    assert json.loads(exc_info.value.body)["message"]
    assert exc_info.value.headers["X-Line-Request-Id"]
    assert api.get_message_quota().type == "none"


def test_it_adds_latency(line, api):
    line.control.set_faults(latency_ms={"pushMessage": 300})

    started = time.perf_counter()
    push(api)
    elapsed = time.perf_counter() - started

    assert elapsed >= 0.3


def test_it_drops_connections(line, api):
    line.control.set_faults(drop_rate={"pushMessage": 1.0})

    with pytest.raises(urllib3.exceptions.HTTPError):
        push(api)

    assert line.control.messages(user_id=USER) == []
    assert [entry["status"] for entry in line.control.requests(endpoint="pushMessage")] == [0]


def outcomes(api, count):
    results = []
    for _ in range(count):
        try:
            push(api)
            results.append(200)
        except ApiException as exc:
            results.append(exc.status)
    return results


def test_it_draws_the_same_faults_from_the_same_seed(line, api):
    faults = [{"endpoint": "pushMessage", "status": 503, "rate": 0.5}]
    line.control.set_faults(seed=42, errors=faults)
    first = outcomes(api, 12)
    line.control.set_faults(seed=42, errors=faults)
    second = outcomes(api, 12)
    line.control.set_faults(seed=7, errors=faults)
    third = outcomes(api, 12)

    assert first == second
    assert set(first) == {200, 503}
    assert third != first


def test_it_rejects_a_malformed_fault_spec_and_keeps_the_previous_one(line):
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 503, "rate": 1.0}])

    with pytest.raises(ControlError) as exc_info:
        line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 418, "rate": 1.0}])

    assert exc_info.value.status == 400
    assert line.control.request("GET", "faults")["errors"][0]["status"] == 503


def test_it_clears_faults_limits_and_records_on_reset(line, api):
    line.control.set_faults(errors=[{"endpoint": "*", "status": 500, "rate": 1.0}])
    line.control.set_rate_limit("pushMessage", 1, per_seconds=60)
    with pytest.raises(ApiException):
        push(api)

    line.control.reset()

    assert push(api).sent_messages
    assert push(api).sent_messages
    assert [entry["status"] for entry in line.control.requests()] == [200, 200]


def test_it_spends_an_error_rule_after_its_count(line, api):
    line.control.set_faults(
        errors=[
            {"endpoint": "pushMessage", "status": 500, "rate": 1.0, "count": 1},
            {"endpoint": "pushMessage", "status": 429, "rate": 1.0, "count": 1},
        ]
    )

    assert outcomes(api, 3) == [500, 429, 200]
    assert line.control.request("GET", "faults")["errors"] == []


def test_it_carries_out_a_push_whose_answer_it_loses(line, api):
    key = str(uuid.uuid4())
    line.control.set_faults(lost_responses=[{"endpoint": "pushMessage", "count": 1}])

    with pytest.raises(urllib3.exceptions.HTTPError):
        push(api, "lost on the way back", x_line_retry_key=key)

    assert [m["message"]["text"] for m in line.control.messages(user_id=USER)] == ["lost on the way back"]
    [entry] = line.control.requests(endpoint="pushMessage")
    assert (entry["status"], entry["lost"], entry["retryKey"]) == (200, True, key)


def test_it_answers_the_retry_of_a_lost_push_with_409(line, api):
    key = str(uuid.uuid4())
    line.control.set_faults(lost_responses=[{"endpoint": "pushMessage", "rate": 1.0}])
    with pytest.raises(urllib3.exceptions.HTTPError):
        push(api, "once", x_line_retry_key=key)

    with pytest.raises(ApiException) as exc_info:
        push(api, "once", x_line_retry_key=key)

    # A request refused before the endpoint acts is never lost, whatever the rule's rate.
    assert exc_info.value.status == 409
    assert len(line.control.messages(user_id=USER)) == 1


def test_it_spends_the_reply_token_of_a_reply_whose_answer_it_loses(line, api):
    token = line.control.issue_reply_token(USER)
    request = ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="x")])
    line.control.set_faults(lost_responses=[{"endpoint": "replyMessage", "count": 1}])
    with pytest.raises(urllib3.exceptions.HTTPError):
        api.reply_message(request)

    with pytest.raises(ApiException) as exc_info:
        api.reply_message(request)

    assert exc_info.value.status == 400
    assert json.loads(exc_info.value.body)["message"] == "Invalid reply token"
    assert len(line.control.messages(user_id=USER)) == 1
