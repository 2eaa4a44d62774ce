"""/api/v1/rich-messages/: build, read, validate with LINE, test-send; scopes and the one error shape."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts import api_keys
from accounts.models import AuditEvent
from conversations.models import LineUser, Message
from linesim.llm.replies import SAMPLE_TEXTS
from richmessages import hosting
from richmessages.models import RichMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/rich-messages/"
FOLLOWER = "U" + "d" * 32


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def key_client(user, *scopes):
    issued = api_keys.api_key_create(user=user, name="ci", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    return client


@pytest.fixture
def template(make_template):
    return make_template()


@pytest.fixture
def built(template, editor):
    body = client_for(editor).post(
        URL, {"template": template.pk, "language": "en", "title": "Hello", "body": "There"}, format="json"
    )
    assert body.status_code == 201, body.json()
    return RichMessage.objects.get(pk=body.json()["id"])


@pytest.fixture
def follower(line):
    line.control.add_user(FOLLOWER, "Dao", language="th")
    return LineUser.objects.create(line_user_id=FOLLOWER, display_name="Dao", language="th")


def test_it_builds_a_message_with_ai_copy_in_thai(template, editor, llm):
    response = client_for(editor).post(
        URL, {"template": template.pk, "language": "th", "brief": {"theme": "rain", "tone": "warm"}}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    message = RichMessage.objects.get(pk=body["id"])
    assert (body["title"], body["body"]) == SAMPLE_TEXTS["th"]
    assert body["copy_source"] == "ai" and body["brief"] == {"theme": "rain", "tone": "warm"}
    assert body["image_url"] == hosting.public_url(message.image.name)
    assert body["flex"] == message.flex
    assert body["flex"]["contents"]["hero"]["url"] == body["image_url"]
    assert (body["code"], body["template"], body["template_version"]) == (message.code, template.pk, 1)


def test_it_reads_a_message(built, operator):
    body = client_for(operator).get(f"{URL}{built.pk}").json()

    assert (body["id"], body["title"], body["flex"]) == (built.pk, "Hello", built.flex)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"language": "th"}, "template"),
        ({"template": "one", "language": "th"}, "template"),
        ({"template": 1, "language": "fr"}, "language"),
        ({"template": 1, "language": "th", "title": 7}, "title"),
        ({"template": 1, "language": "th", "title": ""}, "title"),
        ({"template": 1, "language": "th", "title": "x" * 2001}, "title"),
        ({"template": 1, "language": "th", "brief": "rain"}, "brief"),
        ({"template": 1, "language": "th", "brief": {"colour": "blue"}}, "brief"),
        ({"template": 1, "language": "th", "brief": {"theme": ["a"]}}, "brief"),
    ],
)
def test_it_refuses_a_malformed_request_naming_the_field(template, editor, payload, field):
    payload = {**payload, "template": template.pk} if payload.get("template") == 1 else payload

    response = client_for(editor).post(URL, payload, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["details"]
    assert RichMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x" * 41}, "title"),
        ({"body": "ก" * 161}, "body"),
        ({"brief": {"theme": "x" * 201}}, "brief.theme"),
    ],
)
def test_it_refuses_copy_over_the_templates_limits(template, editor, payload, field):
    response = client_for(editor).post(URL, {"template": template.pk, "language": "th", **payload}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_it_answers_404_for_an_unknown_template_and_message(editor):
    client = client_for(editor)

    assert client.post(URL, {"template": 999_999, "language": "en"}, format="json").status_code == 404
    assert client.get(f"{URL}999999").json()["error"]["code"] == "not_found"
    assert client.get(f"{URL}abc").status_code == 404


def test_it_answers_409_for_a_template_without_an_approved_version(make_template, editor):
    template = make_template(approve=False)

    response = client_for(editor).post(URL, {"template": template.pk, "language": "en"}, format="json")

    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"


def test_it_takes_only_json(template, editor):
    response = client_for(editor).post(URL, {"template": template.pk, "language": "en"}, format="multipart")

    assert response.status_code == 415


def test_it_wants_the_write_scope_to_build_and_the_read_scope_to_read(template, built, editor):
    reader = key_client(editor, "richmessages:read")

    assert reader.post(URL, {"template": template.pk, "language": "en"}, format="json").status_code == 403
    assert reader.get(f"{URL}{built.pk}").status_code == 200
    writer = key_client(editor, "richmessages:write")
    assert writer.get(f"{URL}{built.pk}").status_code == 403


def test_it_refuses_an_analyst_who_would_build(template, analyst):
    assert client_for(analyst).post(URL, {"template": template.pk, "language": "en"}, format="json").status_code == 403


def test_it_validates_a_message_with_line(built, editor, line):
    response = client_for(editor).post(f"{URL}{built.pk}/validate", format="json")

    assert response.status_code == 200
    assert response.json() == {"valid": True, "problems": []}
    [request] = line.control.requests(endpoint="validatePush")
    assert request["body"]["messages"] == [built.flex]
    assert line.control.requests(endpoint="pushMessage") == []


def test_it_reports_what_line_refuses(built, editor, line):
    hero = {**built.flex["contents"]["hero"], "aspectRatio": "1:4"}
    RichMessage.objects.filter(pk=built.pk).update(
        flex={**built.flex, "contents": {**built.flex["contents"], "hero": hero}}
    )

    body = client_for(editor).post(f"{URL}{built.pk}/validate").json()

    assert body["valid"] is False
    [problem] = body["problems"]
    assert problem["property"] == "messages[0].contents.hero.aspectRatio" and problem["message"]
    assert len(line.control.requests(endpoint="validatePush")) == 1


def test_it_reports_a_message_the_line_client_cannot_express(built, editor, line):
    RichMessage.objects.filter(pk=built.pk).update(
        flex={**built.flex, "contents": {**built.flex["contents"], "hero": {"type": "image"}}}
    )

    body = client_for(editor).post(f"{URL}{built.pk}/validate").json()

    assert body["valid"] is False
    assert body["problems"][0]["property"] == "flex" and "url" in body["problems"][0]["message"]


def test_it_reports_a_limit_broken_before_asking_line(built, editor, line):
    RichMessage.objects.filter(pk=built.pk).update(flex={**built.flex, "altText": "a" * 1501})

    body = client_for(editor).post(f"{URL}{built.pk}/validate").json()

    assert body == {
        "valid": False,
        "problems": [{"property": "flex", "message": "altText must be 1 to 1500 characters"}],
    }
    assert line.control.requests(endpoint="validatePush") == []


def test_it_answers_502_when_line_cannot_validate(built, editor, line):
    line.control.set_faults(errors=[{"endpoint": "validatePush", "status": 503, "rate": 1.0}])

    response = client_for(editor).post(f"{URL}{built.pk}/validate")

    assert response.status_code == 502 and response.json()["error"]["code"] == "line_api_error"


def test_it_sends_a_test_with_a_retry_key_and_audits_it(built, operator, follower, line):
    response = client_for(operator).post(f"{URL}{built.pk}/test-send", {"line_user_id": FOLLOWER}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    [push] = line.control.requests(endpoint="pushMessage")
    assert (push["body"]["to"], push["body"]["messages"]) == (FOLLOWER, [built.flex])
    assert push["retryKey"] == body["retry_key"] and uuid.UUID(body["retry_key"])
    assert (body["id"], body["line_user_id"], body["duplicate"]) == (built.pk, FOLLOWER, False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.RICH_MESSAGE_TEST_SENT)
    assert (event.actor, event.target) == (operator, f"rich_message:{built.pk}")
    assert event.details["retry_key"] == body["retry_key"] and event.details["line_user_id"] == FOLLOWER
    stored = Message.objects.get(media_ref=f"rich:{built.code}")
    assert (stored.role, stored.sent_by, stored.content) == ("assistant", operator, "Hello\n\nThere")


def test_it_delivers_a_test_once_when_lines_answer_was_lost(built, operator, follower, line):
    line.control.set_faults(lost_responses=[{"endpoint": "pushMessage", "count": 1}])

    response = client_for(operator).post(f"{URL}{built.pk}/test-send", {"line_user_id": FOLLOWER}, format="json")

    assert response.status_code == 201 and response.json()["duplicate"] is True
    attempts = line.control.requests(endpoint="pushMessage")
    assert [a["status"] for a in attempts] == [200, 409]
    assert len({a["retryKey"] for a in attempts}) == 1
    assert len(line.control.messages(user_id=FOLLOWER)) == 1


def test_it_sends_nothing_and_audits_nothing_when_line_fails(built, operator, follower, line):
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 500, "rate": 1.0}])

    response = client_for(operator).post(f"{URL}{built.pk}/test-send", {"line_user_id": FOLLOWER}, format="json")

    assert response.status_code == 502
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RICH_MESSAGE_TEST_SENT).exists()
    assert not Message.objects.filter(media_ref=f"rich:{built.code}").exists()


def test_it_refuses_a_test_send_to_an_unknown_or_unfollowed_user(built, operator, follower, line):
    client = client_for(operator)

    unknown = client.post(f"{URL}{built.pk}/test-send", {"line_user_id": "U" + "9" * 32}, format="json")
    follower.status = LineUser.Status.INACTIVE
    follower.save()
    gone = client.post(f"{URL}{built.pk}/test-send", {"line_user_id": FOLLOWER}, format="json")

    assert unknown.status_code == 404
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "line_user_inactive"
    assert line.control.requests(endpoint="pushMessage") == []


@pytest.mark.parametrize("payload", [{}, {"line_user_id": ""}, {"line_user_id": 5}, {"line_user_id": "U" * 65}])
def test_it_refuses_a_malformed_test_send(built, operator, follower, payload):
    response = client_for(operator).post(f"{URL}{built.pk}/test-send", payload, format="json")

    assert response.status_code == 400 and "line_user_id" in response.json()["error"]["details"]


def test_it_lets_only_holders_of_the_permission_send_tests(built, analyst, editor, follower, line):
    refused = client_for(analyst).post(f"{URL}{built.pk}/test-send", {"line_user_id": FOLLOWER}, format="json")
    # The content team sends its own tests: editors hold send_test_richmessage like Operators.
    sent = client_for(editor).post(f"{URL}{built.pk}/test-send", {"line_user_id": FOLLOWER}, format="json")

    assert refused.status_code == 403
    assert sent.status_code == 201


def test_it_describes_the_operations_and_their_errors_in_the_schema(administrator):
    schema = client_for(administrator).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    create = schema["paths"]["/api/v1/rich-messages/"]["post"]
    assert "/RichMessageCreateInput" in create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(create["responses"]) >= {"201", "400", "401", "403", "404", "409", "415"}
    validate = schema["paths"]["/api/v1/rich-messages/{id}/validate/"]["post"]
    assert validate["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidateOutput")
    assert "502" in validate["responses"]
    send = schema["paths"]["/api/v1/rich-messages/{id}/test-send/"]["post"]
    assert "/TestSendInput" in send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    output = schema["components"]["schemas"]["RichMessageOutput"]["properties"]
    assert output["flex"]["type"] == "object"
