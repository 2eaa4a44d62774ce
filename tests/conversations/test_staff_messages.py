"""Test messages from the API and the ops console, pushed over real HTTP to the LINE double."""

import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from accounts import api_keys, roles
from accounts.models import ApiKey, AuditEvent
from conversations import staff_messages
from conversations.models import LineUser, Message
from core.errors import ValidationError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("line")]

URL = "/api/v1/test-messages"
ALICE = "U" + "a1" * 16


@pytest.fixture
def alice(line):
    line.control.add_user(ALICE, "Alice")
    return LineUser.objects.create(line_user_id=ALICE, display_name="Alice")


@pytest.fixture
def make_user(django_user_model):
    def make(username, role):
        user = django_user_model.objects.create_user(username, password="a-long-password-123", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


def key_client(user, scopes=("messages:send",)):
    issued = api_keys.api_key_create(user=user, name="ci", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    return client


def pushes(line):
    return line.control.requests(endpoint="pushMessage")


@pytest.fixture
def operator(make_user):
    return make_user("olga", roles.OPERATOR)


@pytest.fixture
def sent(operator, alice):
    """An operator's test message to Alice, through the API: the response's body."""
    response = key_client(operator).post(URL, {"line_user_id": ALICE, "text": "Hello from ops 👋"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_pushes_a_test_message_with_a_retry_key(line, sent):
    [push] = pushes(line)
    assert push["status"] == 200
    assert push["to"] == [ALICE]
    assert push["retryKey"] == sent["retry_key"]
    uuid.UUID(push["retryKey"])
    assert push["body"]["messages"] == [{"type": "text", "text": "Hello from ops 👋"}]
    assert sent["line_request_id"] == push["requestId"]
    assert [m["message"]["text"] for m in line.control.messages(user_id=ALICE)] == ["Hello from ops 👋"]


def test_it_stores_a_sent_test_message_with_its_sender(sent, operator, alice):
    message = Message.objects.get(pk=sent["id"])
    assert (message.role, message.content, message.sent_by, message.line_user) == (
        Message.Role.ASSISTANT,
        "Hello from ops 👋",
        operator,
        alice,
    )
    assert message.conversation.source_id == ALICE


def test_it_audits_a_sent_test_message(sent, operator):
    event = AuditEvent.objects.get(action=AuditEvent.Action.TEST_MESSAGE_SENT)
    assert event.actor == operator
    assert event.target == f"line_user:{ALICE}"
    assert event.details["message_id"] == sent["id"]
    assert event.details["retry_key"] == sent["retry_key"]


def test_it_gives_each_test_message_a_fresh_retry_key(line, alice, make_user):
    client = key_client(make_user("olga", roles.OPERATOR))
    for text in ("one", "two"):
        assert client.post(URL, {"line_user_id": ALICE, "text": text}, format="json").status_code == 201
    first, second = pushes(line)
    assert first["retryKey"] != second["retryKey"]


def test_it_sends_once_when_a_retry_after_a_server_error_reuses_the_key(line, alice, make_user):
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 500, "rate": 1.0, "count": 1}])
    response = key_client(make_user("olga", roles.OPERATOR)).post(
        URL, {"line_user_id": ALICE, "text": "despite a 500"}, format="json"
    )
    assert response.status_code == 201, response.content
    attempts = pushes(line)
    assert [a["status"] for a in attempts] == [500, 200]
    assert len({a["retryKey"] for a in attempts}) == 1
    assert [m["message"]["text"] for m in line.control.messages(user_id=ALICE)] == ["despite a 500"]


@pytest.mark.parametrize("role", [roles.CONTENT_EDITOR, roles.ANALYST])
def test_it_refuses_roles_without_the_permission(line, alice, make_user, role):
    response = key_client(make_user("someone", role)).post(URL, {"line_user_id": ALICE, "text": "hi"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert pushes(line) == []
    assert not Message.objects.exists()


@pytest.mark.parametrize("role", [roles.CONTENT_EDITOR, roles.ANALYST])
def test_it_audits_a_refused_role(line, alice, make_user, role):
    user = make_user("someone", role)
    key_client(user).post(URL, {"line_user_id": ALICE, "text": "hi"}, format="json")
    denial = AuditEvent.objects.get(action=AuditEvent.Action.PERMISSION_DENIED)
    assert denial.actor == user and denial.target == URL


def test_it_refuses_an_api_key_without_the_scope(line, alice, make_user):
    client = key_client(make_user("olga", roles.OPERATOR), scopes=("conversations:read",))
    response = client.post(URL, {"line_user_id": ALICE, "text": "hi"}, format="json")
    assert response.status_code == 403
    assert "scope" in response.json()["error"]["message"]
    denial = AuditEvent.objects.get(action=AuditEvent.Action.PERMISSION_DENIED)
    assert denial.details["api_key"] == ApiKey.objects.get().prefix
    assert pushes(line) == []


def test_it_refuses_an_anonymous_caller(line, alice):
    response = APIClient().post(URL, {"line_user_id": ALICE, "text": "hi"}, format="json")
    assert response.status_code == 401
    assert pushes(line) == []


@pytest.mark.parametrize(
    "text",
    ["", "   \n ", "x" * 5001, "😀" * 2501],
    ids=["empty", "blank", "5001-chars", "5002-utf16-units"],
)
def test_it_refuses_unfit_text_and_sends_nothing(line, alice, make_user, text):
    response = key_client(make_user("olga", roles.OPERATOR)).post(
        URL, {"line_user_id": ALICE, "text": text}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "text" in error["details"]
    assert "correlation_id" in error
    assert pushes(line) == []
    assert not Message.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEST_MESSAGE_SENT).exists()


def test_it_sends_the_longest_text_line_accepts(line, alice, make_user):
    text = "😀" * 2500  # 5,000 UTF-16 units
    response = key_client(make_user("olga", roles.OPERATOR)).post(
        URL, {"line_user_id": ALICE, "text": text}, format="json"
    )
    assert response.status_code == 201, response.content
    assert pushes(line)[0]["body"]["messages"][0]["text"] == text


def test_it_answers_404_for_an_unknown_line_user(line, make_user):
    response = key_client(make_user("olga", roles.OPERATOR)).post(
        URL, {"line_user_id": "U" + "0" * 32, "text": "hi"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert pushes(line) == []


def test_it_sends_nothing_to_a_user_who_unfollowed(line, alice, make_user):
    alice.status = LineUser.Status.INACTIVE
    alice.save()
    response = key_client(make_user("olga", roles.OPERATOR)).post(
        URL, {"line_user_id": ALICE, "text": "hi"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "line_user_inactive"
    assert pushes(line) == []
    assert not Message.objects.exists()


def test_it_reports_a_line_failure_and_records_nothing(line, alice, make_user, settings):
    settings.LINE_API_ATTEMPTS = 2
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 503, "rate": 1.0}])
    try:
        response = key_client(make_user("olga", roles.OPERATOR)).post(
            URL, {"line_user_id": ALICE, "text": "hi"}, format="json"
        )
    finally:
        line.control.clear_faults()
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "line_api_error"
    assert len(pushes(line)) == 2
    assert not Message.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEST_MESSAGE_SENT).exists()


def test_it_checks_the_text_before_anything_else(line, alice, make_user):
    with pytest.raises(ValidationError):
        staff_messages.staff_message_send(line_user=alice, text="a\x00b", actor=make_user("olga", roles.OPERATOR))
    assert pushes(line) == []


# --- the ops console ---------------------------------------------------------------------------
@pytest.fixture
def console(verified_client):
    return verified_client


CHANGELIST = "/admin/conversations/lineuser/"


def test_it_lets_an_operator_send_a_test_message_from_the_console(line, alice, make_user, console):
    operator = make_user("olga", roles.OPERATOR)
    client = console(operator)
    form = client.post(CHANGELIST, {"action": "send_test_message", "_selected_action": [alice.pk], "index": 0})
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="text"' in page and "<script>" not in page.split('id="content-main"')[1]
    assert pushes(line) == []

    done = client.post(
        CHANGELIST,
        {"action": "send_test_message", "_selected_action": [alice.pk], "text": "console hello", "send": "Send"},
    )
    assert done.status_code == 302
    [push] = pushes(line)
    assert push["body"]["messages"] == [{"type": "text", "text": "console hello"}]
    assert push["retryKey"]
    message = Message.objects.get()
    assert message.sent_by == operator
    assert AuditEvent.objects.get(action=AuditEvent.Action.TEST_MESSAGE_SENT).actor == operator


def test_it_shows_a_text_error_in_the_console_form_and_sends_nothing(line, alice, make_user, console):
    client = console(make_user("olga", roles.OPERATOR))
    page = client.post(
        CHANGELIST,
        {"action": "send_test_message", "_selected_action": [alice.pk], "text": "😀" * 2501, "send": "Send"},
    )
    assert page.status_code == 200
    assert "UTF-16" in page.content.decode()
    assert pushes(line) == []


def test_it_hides_the_console_action_without_the_permission(line, alice, make_user, console):
    analyst = make_user("anna", roles.ANALYST)
    # Analysts cannot see LINE users at all; view access makes the action permission the only difference.
    analyst.user_permissions.add(Permission.objects.get(codename="view_lineuser"))
    client = console(analyst)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert "send_test_message" not in listing.content.decode()
    refused = client.post(
        CHANGELIST,
        {"action": "send_test_message", "_selected_action": [alice.pk], "text": "hi", "send": "Send"},
    )
    assert refused.status_code in (200, 302)
    assert pushes(line) == []
    assert not Message.objects.exists()


def test_it_lets_an_administrator_send_through_a_console_session(line, alice, make_user, console):
    client = console(make_user("root", roles.ADMINISTRATOR))
    response = client.post(URL, {"line_user_id": ALICE, "text": "from a session"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert [m["message"]["text"] for m in line.control.messages(user_id=ALICE)] == ["from a session"]


def test_it_refuses_an_unfollowed_user_in_the_console_with_a_message(line, alice, make_user, console):
    alice.status = LineUser.Status.INACTIVE
    alice.save()
    client = console(make_user("olga", roles.OPERATOR))
    page = client.post(
        CHANGELIST,
        {"action": "send_test_message", "_selected_action": [alice.pk], "text": "hi", "send": "Send"},
        follow=True,
    )
    assert "unfollowed" in page.content.decode()
    assert pushes(line) == []
    assert not Message.objects.exists()
