"""Tracked links: /r/<code> records the click and redirects at once; rich messages link through it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.utils import timezone

from analytics.links import tracked_link_create, tracked_link_url
from analytics.models import Event, TrackedLink
from core.errors import ValidationError
from richmessages import flex

from .conftest import deliver, make_users

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_it_redirects_at_once_and_records_the_click(client, rich_message):
    link = tracked_link_create(target_url="https://example.com/sale?x=1", rich_message=rich_message)

    response = client.get(f"/r/{link.code}")

    assert (response.status_code, response["Location"]) == (302, "https://example.com/sale?x=1")
    click = Event.objects.get(type=Event.Type.LINK_CLICK)
    assert (click.rich_message, click.props, click.line_user) == (rich_message, {"link": link.code}, None)


def test_it_knows_the_user_from_a_signed_link_and_credits_their_campaign(client, campaign):
    user = make_users(1)[0]
    # Clicked now: delivered within the attribution window before it, whatever today's date.
    deliver(campaign, [user], variant="A", at=timezone.now() - timedelta(hours=1))
    link = tracked_link_create(target_url="https://example.com/", rich_message=campaign.rich_message)

    client.get(path_of(tracked_link_url(link, line_user=user)))

    click = Event.objects.get(type=Event.Type.LINK_CLICK)
    assert (click.line_user, click.campaign_id, click.variant) == (user, campaign.pk, "A")


def test_it_ignores_a_forged_user_token(client):
    link = tracked_link_create(target_url="https://example.com/")
    forged = signing.dumps(1, salt="another salt")

    response = client.get(f"/r/{link.code}?u={forged}")

    assert response.status_code == 302
    assert Event.objects.get().line_user is None


def test_it_answers_an_unknown_code_with_a_404_page(client):
    response = client.get("/r/nosuchcode")

    assert response.status_code == 404
    assert b"This link does not exist" in response.content
    assert not Event.objects.exists()


@pytest.mark.parametrize("target", ["javascript:alert(1)", "ftp://example.com/f", "//example.com", "data:text/html,x"])
def test_it_tracks_only_http_links(target):
    with pytest.raises(ValidationError, match="http"):
        tracked_link_create(target_url=target)
    assert not TrackedLink.objects.exists()


def test_it_opens_the_link_from_the_bubble_and_leaves_the_image_url_alone():
    bubble = flex.bubble(
        image_url="https://cdn.example.com/rich/a.png",
        image_width=1040,
        image_height=1040,
        title="Sale",
        body="Now",
        buttons=["like"],
        code="abc",
        language="en",
        link_url="https://bot.example.com/r/xyz",
    )

    assert bubble["hero"]["url"] == "https://cdn.example.com/rich/a.png"
    assert bubble["hero"]["action"]["uri"] == "https://bot.example.com/r/xyz"
    uris = [row["action"]["uri"] for row in bubble["footer"]["contents"] if row.get("action", {}).get("type") == "uri"]
    assert uris == ["https://bot.example.com/r/xyz"]
