"""The double's narrowcast targeting (LINE audiences, demographic filters, LINE's minimums) and audiences,
through the real SDK."""

import json
import urllib.error
import urllib.request
import uuid

import pytest
from linebot.v3.audience import ApiClient as AudienceClient
from linebot.v3.audience import Configuration as AudienceConfiguration
from linebot.v3.audience import CreateAudienceGroupRequest, ManageAudience
from linebot.v3.messaging import MulticastRequest, NarrowcastRequest
from linebot.v3.messaging.exceptions import ApiException


def user(number: int) -> str:
    return "U" + f"{number:032x}"


@pytest.fixture
def audience_api(line):
    with AudienceClient(AudienceConfiguration(host=line.base_url, access_token=line.access_token)) as client:
        yield ManageAudience(client)


def narrowcast(api, **body):
    response = api.narrowcast_with_http_info(
        NarrowcastRequest.from_dict({"messages": [{"type": "text", "text": "x"}], **body})
    )
    request_id = response.headers["X-Line-Request-Id"]
    assert response.status_code == 202
    assert api.get_narrowcast_progress(request_id).phase == "waiting"
    return api.get_narrowcast_progress(request_id)


def test_it_creates_an_audience_and_reports_its_size(line, audience_api):
    created = audience_api.create_audience_group(
        CreateAudienceGroupRequest.from_dict({"description": "vip", "audiences": [{"id": user(n)} for n in range(60)]})
    )

    group = audience_api.get_audience_data(created.audience_group_id).audience_group

    assert (group.description, group.audience_count) == ("vip", 60)


def test_it_delivers_a_narrowcast_to_an_audience_to_its_followers_only(line, api, audience_api):
    line.control.add_followers([user(n) for n in range(120)])
    group = audience_api.create_audience_group(
        CreateAudienceGroupRequest.from_dict(
            {"description": "half", "audiences": [{"id": user(n)} for n in range(0, 200, 2)]}
        )
    ).audience_group_id

    progress = narrowcast(api, recipient={"type": "audience", "audienceGroupId": group})

    assert (progress.phase, progress.success_count) == ("succeeded", 60)
    assert line.control.messages(user_id=user(2)) and not line.control.messages(user_id=user(3))


def test_it_fails_an_audience_under_50_users_with_error_code_4(line, api, audience_api):
    line.control.add_followers([user(n) for n in range(120)])
    group = audience_api.create_audience_group(
        CreateAudienceGroupRequest.from_dict({"description": "few", "audiences": [{"id": user(n)} for n in range(49)]})
    ).audience_group_id

    progress = narrowcast(api, recipient={"type": "audience", "audienceGroupId": group})

    assert (progress.phase, progress.error_code) == ("failed", 4)
    assert line.control.messages(user_id=user(1)) == []


def test_it_needs_a_reach_of_100_for_a_demographic_filter(line, api):
    line.control.add_followers([user(n) for n in range(99)], demographics={"gender": "female"})

    progress = narrowcast(api, filter={"demographic": {"type": "gender", "oneOf": ["female"]}})

    assert (progress.phase, progress.error_code) == ("failed", 2)


def test_it_selects_by_known_attributes_with_a_demographic_filter(line, api):
    line.control.add_followers([user(n) for n in range(80)], demographics={"gender": "female", "age": 27})
    line.control.add_followers([user(n) for n in range(80, 160)], demographics={"gender": "male", "age": 41})
    demographic = {
        "type": "operator",
        "and": [{"type": "gender", "oneOf": ["female"]}, {"type": "age", "gte": "age_25", "lt": "age_30"}],
    }

    progress = narrowcast(api, filter={"demographic": demographic})

    assert (progress.phase, progress.success_count) == ("succeeded", 80)


def test_it_answers_400_for_an_unknown_audience(line, api):
    with pytest.raises(ApiException) as error:
        api.narrowcast(
            NarrowcastRequest.from_dict(
                {"messages": [{"type": "text", "text": "x"}], "recipient": {"type": "audience", "audienceGroupId": 5}}
            )
        )

    assert error.value.status == 400


def test_it_refuses_a_multicast_to_more_than_500_users(line):
    # The SDK refuses it before sending; a raw request shows what LINE itself answers.
    body = json.dumps({"to": [user(n) for n in range(501)], "messages": [{"type": "text", "text": "x"}]}).encode()
    request = urllib.request.Request(
        line.base_url + "/v2/bot/message/multicast",
        data=body,
        headers={"Authorization": f"Bearer {line.access_token}", "Content-Type": "application/json"},
    )

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)

    assert error.value.code == 400
    assert json.loads(error.value.read())["details"][0]["property"] == "to"


def test_it_answers_429_with_lines_sentence_at_the_monthly_limit(line, api):
    line.control.configure(monthlyQuota=2)
    try:
        with pytest.raises(ApiException) as error:
            api.multicast_with_http_info(
                MulticastRequest.from_dict(
                    {"to": [user(n) for n in range(3)], "messages": [{"type": "text", "text": "x"}]}
                ),
                x_line_retry_key=str(uuid.uuid4()),
            )
    finally:
        line.control.configure(monthlyQuota=0)

    assert error.value.status == 429
    assert json.loads(error.value.body)["message"] == "You have reached your monthly limit."


def test_it_checks_the_input_when_adding_followers(line):
    from linesim.line.testing import ControlError

    with pytest.raises(ControlError) as error:
        line.control.request("POST", "followers", {"userIds": "U1"})

    assert error.value.status == 400
