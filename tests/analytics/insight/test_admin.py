"""The insight snapshots in the ops console: analysts read them, nobody edits them."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import roles
from analytics.insight_models import FollowerSnapshot, MessageEventSnapshot
from analytics.insight_services import insight_track_request

pytestmark = pytest.mark.django_db

SENT = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
MODELS = [
    "followersnapshot",
    "deliverysnapshot",
    "demographicsnapshot",
    "messageeventsnapshot",
    "unitsnapshot",
    "trackedrequest",
    "trackedunit",
]


@pytest.fixture
def staff(django_user_model, verified_client):
    def make(role):
        user = django_user_model.objects.create_user(role.replace(" ", "_"), password="a long test password 42")
        user.groups.add(Group.objects.get(name=role))
        user.is_staff = True
        user.save()
        return verified_client(user)

    return make


@pytest.fixture
def broadcast_snapshot():
    tracked = insight_track_request("req-1", sent_at=SENT, kind="broadcast", campaign_id=7)
    return MessageEventSnapshot.objects.create(
        request=tracked, date=SENT.date(), delivered=25, unique_impression=24, unique_click=None, fetched_at=SENT
    )


def test_it_lets_an_analyst_read_every_insight_page(staff, broadcast_snapshot):
    client = staff(roles.ANALYST)

    for model in MODELS:
        assert client.get(reverse(f"admin:analytics_{model}_changelist")).status_code == 200, model
    page = client.get(reverse("admin:analytics_messageeventsnapshot_changelist")).content.decode()
    assert "req-1" in page and ">24<" in page and ">hidden<" in page


def test_it_lets_nobody_edit_a_snapshot(staff, broadcast_snapshot):
    client = staff(roles.ADMINISTRATOR)
    change = reverse("admin:analytics_messageeventsnapshot_change", args=[broadcast_snapshot.pk])

    assert client.get(reverse("admin:analytics_followersnapshot_add")).status_code == 403
    assert client.post(change, {"unique_click": "0"}).status_code == 403
    assert client.get(change).status_code == 200  # read-only view
    broadcast_snapshot.refresh_from_db()
    assert broadcast_snapshot.unique_click is None


def test_it_hides_the_snapshots_from_operators(staff):
    FollowerSnapshot.objects.create(date=SENT.date(), status="ready", followers=1, fetched_at=SENT)

    client = staff(roles.OPERATOR)

    assert client.get(reverse("admin:analytics_followersnapshot_changelist")).status_code == 403
