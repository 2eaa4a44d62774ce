"""A rich message's link goes out as a tracked link (/r/<code>); its image URL is never rewritten."""

import pytest

from analytics.models import TrackedLink
from core.errors import ValidationError
from richmessages import hosting
from richmessages.message_services import rich_message_build
from richmessages.models import RichMessage

pytestmark = pytest.mark.django_db


def build(template, editor, **fields):
    return rich_message_build(
        template=template, language="en", title="Good morning", body="A fresh start.", actor=editor, **fields
    )


def test_it_sends_the_link_through_a_tracked_redirect(make_template, editor, client):
    message = build(make_template(), editor, link="https://shop.example.com/sale")

    link = TrackedLink.objects.get()
    hero = message.flex["contents"]["hero"]
    assert link.rich_message == message and link.target_url == "https://shop.example.com/sale"
    assert hero["action"]["uri"] == f"https://bot.example.com/r/{link.code}"
    assert hero["url"] == hosting.public_url(message.image.name)
    assert client.get(f"/r/{link.code}")["Location"] == "https://shop.example.com/sale"


def test_it_refuses_a_link_that_is_not_http_and_stores_nothing(make_template, editor):
    with pytest.raises(ValidationError) as refused:
        build(make_template(), editor, link="javascript:alert(1)")

    assert "link" in refused.value.details
    assert not RichMessage.objects.exists() and not TrackedLink.objects.exists()


def test_it_builds_no_link_when_none_is_given(make_template, editor):
    message = build(make_template(), editor)

    assert "action" not in message.flex["contents"]["hero"] and not TrackedLink.objects.exists()
