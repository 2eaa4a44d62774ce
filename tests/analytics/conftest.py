"""Analytics tests: real PostgreSQL; events written through the one service, reports read from rollups."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts import api_keys, roles
from analytics import rollups
from analytics.models import Event
from analytics.services import event_record, events_record_bulk
from conversations.models import LineUser
from richmessages.campaigns.models import Campaign
from richmessages.models import RichMessage, RichTemplate, RichTemplateVersion

T = Event.Type
# 09:00 in Bangkok on Monday 2 November 2026.
SENT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
FLEX = {"type": "flex", "altText": "x", "contents": {"type": "bubble"}}


def line_id() -> str:
    return "U" + secrets.token_hex(16)


def make_users(count: int, **fields) -> list[LineUser]:
    return LineUser.objects.bulk_create([LineUser(line_user_id=line_id(), **fields) for _ in range(count)])


def make_rich_message(template: RichTemplate | None = None, title: str = "Morning run") -> RichMessage:
    template = template or RichTemplate.objects.create(name=title, slug=f"t-{secrets.token_hex(4)}")
    version = RichTemplateVersion.objects.create(
        template=template,
        number=template.versions.count() + 1,
        status=RichTemplateVersion.Status.APPROVED,
        background="rich/backgrounds/x.png",
        background_sha256="0" * 64,
        width=1040,
        height=1040,
        title_area={"x": 0, "y": 0, "width": 10, "height": 10},
        body_area={"x": 0, "y": 20, "width": 10, "height": 10},
        buttons=["more", "like", "save", "share"],
    )
    return RichMessage.objects.create(
        template_version=version,
        language="en",
        title=title,
        body="Run",
        copy_source=RichMessage.CopySource.GIVEN,
        image="rich/composed/x.png",
        image_sha256="1" * 64,
        flex=FLEX,
    )


@pytest.fixture
def rich_message(db) -> RichMessage:
    return make_rich_message()


@pytest.fixture
def campaign(db, rich_message) -> Campaign:
    return Campaign.objects.create(name="Morning run", rich_message=rich_message, holdout_percent=10)


def deliver(campaign: Campaign, users, *, variant: str = "", at: datetime = SENT, message: RichMessage | None = None):
    message = message or campaign.rich_message
    events_record_bulk(
        type=T.DELIVERED,
        line_user_ids=[user.pk for user in users],
        occurred_at=at,
        campaign_id=campaign.pk,
        variant=variant,
        rich_message_id=message.pk,
        template_version_id=message.template_version_id,
    )


def hold_out(campaign: Campaign, users, *, at: datetime = SENT):
    events_record_bulk(
        type=T.HOLDOUT, line_user_ids=[user.pk for user in users], occurred_at=at, campaign_id=campaign.pk
    )


def tap(user, message: RichMessage, button: str, *, at: datetime):
    return event_record(type=T.POSTBACK, line_user=user, rich_message=message, button=button, occurred_at=at)


def roll(start: date = date(2026, 10, 1), end: date = date(2026, 12, 31)) -> None:
    rollups.rollups_recompute(start=start, end=end)


@pytest.fixture
def make_user(django_user_model):
    def make(username, *, role=None):
        user = django_user_model.objects.create_user(username, password="a long test password 42")
        if role:
            user.groups.add(Group.objects.get(name=role))
            user.is_staff = True
            user.save()
        return user

    return make


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role=roles.ANALYST)


@pytest.fixture
def editor(make_user):
    return make_user("editor", role=roles.CONTENT_EDITOR)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def key_client(user, *scopes) -> APIClient:
    issued = api_keys.api_key_create(user=user, name="ci", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    return client
