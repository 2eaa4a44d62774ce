"""The personal-data API: export with personal_data:export, erase with personal_data:erase, by role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts import api_keys, roles
from accounts.models import AuditEvent
from conversations.models import LineUser, Message

pytestmark = pytest.mark.django_db
USER = "U" + "7" * 32
URL = f"/api/v1/line-users/{USER}/personal-data"


@pytest.fixture
def talk(post_events, events):
    post_events(events.text("api hello", user_id=USER))
    return LineUser.objects.get(line_user_id=USER)


def key_client(django_user_model, role: str, scopes: list[str]) -> APIClient:
    user = django_user_model.objects.create_user(role.lower().replace(" ", ""), password="pw-long-123456")
    user.groups.add(Group.objects.get(name=role))
    issued = api_keys.api_key_create(user=user, name="privacy", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    return client


def test_it_exports_for_an_operators_key(talk, django_user_model):
    response = key_client(django_user_model, roles.OPERATOR, ["personal_data:export"]).get(URL)

    assert response.status_code == 200
    assert "api hello" in [m["content"] for m in response.json()["conversations"]["messages"]]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_EXPORTED).exists()


def test_it_erases_for_an_administrators_key(talk, django_user_model):
    response = key_client(django_user_model, roles.ADMINISTRATOR, ["personal_data:erase"]).delete(URL)

    assert response.status_code == 200
    assert response.json()["replaced_by"].startswith("erased:")
    assert response.json()["counts"]["conversations"]["messages"] >= 1
    assert not Message.objects.filter(content="api hello").exists()


def test_it_refuses_the_erasure_to_an_operators_key(talk, django_user_model):
    response = key_client(django_user_model, roles.OPERATOR, ["personal_data:erase"]).delete(URL)

    assert response.status_code == 403
    assert response.json()["error"]["code"]
    assert Message.objects.filter(content="api hello").exists()


def test_it_refuses_a_key_without_the_scope(talk, django_user_model):
    response = key_client(django_user_model, roles.ADMINISTRATOR, ["personal_data:export"]).delete(URL)

    assert response.status_code == 403
    assert LineUser.objects.filter(line_user_id=USER).exists()


def test_it_answers_404_for_an_unknown_user(db, django_user_model):
    client = key_client(django_user_model, roles.ADMINISTRATOR, ["personal_data:export"])

    assert client.get("/api/v1/line-users/Unobody/personal-data").status_code == 404
