"""Export and erase from the console: actions on the LINE user list, by role, with a confirmation to erase."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group

from accounts import roles
from accounts.models import AuditEvent
from conversations.models import LineUser, Message

pytestmark = pytest.mark.django_db
USER = "U" + "5" * 32
CHANGELIST = "/admin/conversations/lineuser/"


@pytest.fixture
def talk(post_events, events):
    post_events(events.text("hello from me", user_id=USER))
    return LineUser.objects.get(line_user_id=USER)


@pytest.fixture
def sign_in(verified_client, django_user_model):
    def as_role(role: str):
        user = django_user_model.objects.create_user(role.lower().replace(" ", ""), password="pw-long-123456")
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return verified_client(user)

    return as_role


def _actions(client) -> str:
    return client.get(CHANGELIST).content.decode()


def test_it_offers_an_operator_the_export_but_not_the_erasure(talk, sign_in):
    page = _actions(sign_in(roles.OPERATOR))

    assert "export_personal_data" in page
    assert "erase_personal_data" not in page


def test_it_offers_an_administrator_both(talk, sign_in):
    page = _actions(sign_in(roles.ADMINISTRATOR))

    assert "export_personal_data" in page and "erase_personal_data" in page


def test_it_downloads_the_export_as_json(talk, sign_in):
    response = sign_in(roles.OPERATOR).post(
        CHANGELIST, {"action": "export_personal_data", "_selected_action": [talk.pk], "index": 0}
    )

    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert "hello from me" in [m["content"] for m in data["conversations"]["messages"]]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_EXPORTED).count() == 1


def test_it_asks_for_confirmation_before_erasing(talk, sign_in):
    response = sign_in(roles.ADMINISTRATOR).post(
        CHANGELIST, {"action": "erase_personal_data", "_selected_action": [talk.pk], "index": 0}
    )

    assert response.status_code == 200
    assert b"cannot be undone" in response.content
    assert Message.objects.filter(content="hello from me").exists()


def test_it_erases_once_confirmed(talk, sign_in):
    client = sign_in(roles.ADMINISTRATOR)

    response = client.post(
        CHANGELIST,
        {"action": "erase_personal_data", "_selected_action": [talk.pk], "index": 0, "confirm_erase": "yes"},
        follow=True,
    )

    assert b"erased" in response.content
    assert not LineUser.objects.filter(line_user_id=USER).exists()
    assert not Message.objects.filter(content="hello from me").exists()


def test_it_refuses_the_erasure_to_an_operator_who_posts_it_anyway(talk, sign_in):
    sign_in(roles.OPERATOR).post(
        CHANGELIST,
        {"action": "erase_personal_data", "_selected_action": [talk.pk], "index": 0, "confirm_erase": "yes"},
    )

    assert LineUser.objects.filter(line_user_id=USER).exists()


def test_it_asks_for_exactly_one_user(talk, sign_in, post_events, events):
    post_events(events.text("hi", user_id="U" + "6" * 32))
    pks = list(LineUser.objects.values_list("pk", flat=True))

    response = sign_in(roles.ADMINISTRATOR).post(
        CHANGELIST, {"action": "export_personal_data", "_selected_action": pks, "index": 0}, follow=True
    )

    assert b"Select exactly one LINE user" in response.content
