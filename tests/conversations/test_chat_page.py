"""The live chat page of a LINE user in the ops console: who may open it, and its forms."""

import io
import json
import re

import pytest
from django.contrib.auth.models import Group
from PIL import Image

from accounts import roles
from accounts.models import AuditEvent
from conversations.models import LineUser, Message, Takeover, WebhookEvent
from tests.doubles import answer_to

from .events import USER

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model, verified_client):
    def sign_in(username, role):
        user = django_user_model.objects.create_user(username, password="a-long-password-123", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return verified_client(user)

    return sign_in


@pytest.fixture
def aiko(line, post_events, events):
    line.control.add_user(USER, "Aiko")
    post_events(events.text("hello there"))
    return LineUser.objects.get(line_user_id=USER)


def url(user, action=""):
    return f"/admin/conversations/lineuser/{user.pk}/chat/{action}"


def initial_chat(response) -> dict:
    found = re.search(r'<script id="chat-initial" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(found.group(1))


@pytest.mark.parametrize("role", [roles.ANALYST, roles.CONTENT_EDITOR])
def test_it_refuses_the_page_to_a_role_that_may_not_take_over(aiko, staff, role):
    client = staff("ann", role)

    assert client.get(url(aiko)).status_code == 403
    assert client.post(url(aiko, "take-over/")).status_code == 403
    assert not Takeover.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PERMISSION_DENIED).count() == 2


def test_it_shows_the_chat_as_bubbles_with_the_bots_line_messages(aiko, staff):
    response = staff("olga", roles.OPERATOR).get(url(aiko))

    assert response.status_code == 200
    items = initial_chat(response)["items"]
    assert [(item["kind"], item["text"]) for item in items] == [
        ("user", "hello there"),
        ("bot", answer_to("hello there", language="en")),
    ]
    assert items[1]["messages"] == [{"type": "text", "text": answer_to("hello there", language="en")}]
    body = response.content.decode()
    # CSP: no inline code, only the chat's JSON.
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", body) == []
    assert "style=" not in body


def test_it_links_the_live_chat_from_the_users_page_only_for_those_who_may_take_over(aiko, staff):
    operator_page = staff("olga", roles.OPERATOR).get(f"/admin/conversations/lineuser/{aiko.pk}/change/")

    assert url(aiko) in operator_page.content.decode()


def test_it_takes_over_answers_and_hands_back_through_the_forms(aiko, staff, line, post_events, events):
    client = staff("olga", roles.OPERATOR)

    assert client.post(url(aiko, "take-over/")).status_code == 302
    post_events(events.text("I want a person"))
    assert client.post(url(aiko, "send/"), {"text": "Olga here, how can I help?"}).status_code == 302
    assert client.post(url(aiko, "hand-back/")).status_code == 302

    assert line.control.messages(user_id=USER)[-1]["message"]["text"] == "Olga here, how can I help?"
    items = initial_chat(client.get(url(aiko)))["items"]
    kinds = [item["kind"] for item in items]
    assert kinds == ["user", "bot", "note", "user", "operator", "note"]
    assert items[3]["not_answered"]
    assert items[4]["by"] == "olga" and items[4]["delivered"] is True
    assert "handed back" in items[5]["text"]
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.TAKEN_OVER).count() == 1


def test_it_says_why_an_answer_was_not_sent_and_sends_nothing(aiko, staff, line):
    client = staff("olga", roles.OPERATOR)
    line.control.clear_requests()

    response = client.post(url(aiko, "send/"), {"text": "Hello?"}, follow=True)

    assert "take over first" in response.content.decode()
    assert line.control.requests(endpoint="pushMessage") == []
    assert not Message.objects.filter(takeover__isnull=False).exists()


def test_it_serves_the_chat_as_json_for_a_reconnecting_page(aiko, staff):
    response = staff("olga", roles.OPERATOR).get(url(aiko, "items/"))

    assert response.status_code == 200
    data = response.json()
    assert data["type"] == "update" and len(data["items"]) == 2 and data["takeover"] == {"active": False}


def test_it_shows_a_picture_the_user_sent_as_a_picture(aiko, staff, line, post_events, events):
    client = staff("olga", roles.OPERATOR)
    client.post(url(aiko, "take-over/"))
    raw = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(raw, format="PNG")
    message_id = line.control.add_content(raw.getvalue(), content_type="image/png")

    post_events(events.of("message", message={"id": message_id, "type": "image", "contentProvider": {"type": "line"}}))

    item = initial_chat(client.get(url(aiko)))["items"][-1]
    assert item["kind"] == "user" and item["media"] == "image"
    picture = client.get(item["picture_url"])
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert picture.content == raw.getvalue()


def test_it_draws_a_flex_answer_from_the_line_messages_that_were_sent(aiko, staff):
    flex = {"type": "flex", "altText": "Order", "contents": {"type": "bubble", "body": {"type": "box"}}}
    event = WebhookEvent.objects.filter(line_user_id=USER).first()
    event.reply_messages = [flex, {"type": "text", "text": "Anything else?"}]
    event.save(update_fields=["reply_messages"])

    items = initial_chat(staff("olga", roles.OPERATOR).get(url(aiko)))["items"]

    assert items[-1]["kind"] == "bot" and items[-1]["messages"][0] == flex


def test_it_names_the_operator_in_the_conversations_transcript(aiko, staff):
    client = staff("olga", roles.OPERATOR)
    client.post(url(aiko, "take-over/"))
    client.post(url(aiko, "send/"), {"text": "Olga speaking."})
    conversation = Message.objects.get(content="Olga speaking.").conversation

    page = client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")

    assert "operator olga (takeover)" in page.content.decode()


def test_it_refuses_an_empty_answer_and_sends_nothing(aiko, staff, line):
    client = staff("olga", roles.OPERATOR)
    client.post(url(aiko, "take-over/"))
    line.control.clear_requests()

    response = client.post(url(aiko, "send/"), {"text": ""}, follow=True)

    assert "Not sent" in response.content.decode()
    assert line.control.requests(endpoint="pushMessage") == []
    assert not Message.objects.filter(takeover__isnull=False).exists()


def test_it_keeps_an_answer_line_did_not_confirm_and_sends_it_again_from_the_page(aiko, staff, line, settings):
    settings.LINE_API_RETRY_WAIT = 0.0
    client = staff("olga", roles.OPERATOR)
    client.post(url(aiko, "take-over/"))
    line.control.set_faults(errors=[{"endpoint": "pushMessage", "status": 503, "rate": 1.0, "count": 10}])

    response = client.post(url(aiko, "send/"), {"text": "One moment please."}, follow=True)
    assert "It is kept: send it again" in response.content.decode()
    [item] = [i for i in initial_chat(response)["items"] if i["kind"] == "operator"]
    assert item["delivered"] is False
    line.control.set_faults(errors=[])
    client.post(url(aiko, f"messages/{item['id'][1:]}/resend/"))

    assert Message.objects.get(content="One moment please.").delivered_at is not None
    assert [m["message"]["text"] for m in line.control.messages(user_id=USER)].count("One moment please.") == 1
