"""The ops console's messages list and transcripts, with pictures fetched from the LINE double."""

import base64
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from PIL import Image

from accounts import roles
from conversations.models import Conversation, LineUser, Message
from linesim.line.testing import running_line_double

from .events import event_of, text_event

pytestmark = pytest.mark.django_db

AIKO = "U" + "a1" * 16


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture(autouse=True)
def _line_settings(line, settings):
    # Changing LINE_* settings drops the cached client, so the next call goes to the double.
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    line.control.reset()


@pytest.fixture
def staff(django_user_model, verified_client):
    def sign_in(role):
        user = django_user_model.objects.create_user(role.lower().replace(" ", "-"), password="a-long-password-123")
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return verified_client(user)

    return sign_in


def _png(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (6, 199, 85)).save(buffer, format="PNG")
    return buffer.getvalue()


def _sent_to_line(line, data: bytes, content_type: str = "image/png") -> str:
    """Has the double keep ``data`` as the content of a new image message; returns the message id."""
    sent = line.control.send_webhook(
        type="image", userId=AIKO, contentBase64=base64.b64encode(data).decode(), contentType=content_type
    )
    return sent["event"]["message"]["id"]


def _picture_message(media_ref: str) -> Message:
    user = LineUser.objects.create(line_user_id=AIKO, display_name="Aiko")
    conversation = Conversation.objects.create(source_type="user", source_id=AIKO, user=user)
    return Message.objects.create(
        conversation=conversation, line_user=user, role="user", content="(picture)", media_ref=media_ref
    )


def _picture_url(message: Message) -> str:
    return reverse("admin:conversations_message_picture", args=[message.pk])


def test_it_lists_messages_newest_first(staff):
    conversation = Conversation.objects.create(source_type="user", source_id=AIKO)
    older = Message.objects.create(conversation=conversation, role="user", content="first")
    newer = Message.objects.create(conversation=conversation, role="assistant", content="second")

    page = staff(roles.OPERATOR).get(reverse("admin:conversations_message_changelist"))

    assert [m.pk for m in page.context["cl"].result_list] == [newer.pk, older.pk]


def test_it_shows_canned_replies_in_the_transcript(line, post_events, staff):
    line.control.add_user(AIKO, "Aiko")
    for event in (
        event_of("follow", user_id=AIKO, replyToken=line.control.issue_reply_token(AIKO)),
        text_event("/help", user_id=AIKO, reply_token=line.control.issue_reply_token(AIKO)),
        event_of(
            "message",
            user_id=AIKO,
            replyToken=line.control.issue_reply_token(AIKO),
            message={"id": "5001", "type": "sticker", "packageId": "446", "stickerId": "1988"},
        ),
    ):
        assert post_events(event).status_code == 200

    conversation = Conversation.objects.get(source_id=AIKO)
    body = staff(roles.OPERATOR).get(reverse("admin:conversations_conversation_change", args=[conversation.pk]))
    body = body.content.decode()

    assert "Hello Aiko! Thanks for adding me." in body
    assert "/reset" in body  # the /help answer lists the commands
    assert "Nice sticker! 😊" in body
    assert [m.role for m in conversation.messages.all()] == ["assistant", "user", "assistant", "user", "assistant"]


def test_it_shows_a_picture_the_user_sent_in_the_transcript(line, staff):
    message = _picture_message(f"image:{_sent_to_line(line, _png())}")

    body = staff(roles.OPERATOR).get(reverse("admin:conversations_conversation_change", args=[message.conversation_id]))

    assert f'<img src="{_picture_url(message)}"' in body.content.decode()


def test_it_streams_the_picture_from_line_with_the_type_pillow_found(line, staff):
    data = _png()
    # LINE's own content type is not trusted: the bytes decide.
    message = _picture_message(f"image:{_sent_to_line(line, data, content_type='text/html')}")

    response = staff(roles.OPERATOR).get(_picture_url(message))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == data
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_shows_a_placeholder_when_line_no_longer_has_the_picture(staff):
    message = _picture_message("image:987654321")

    response = staff(roles.OPERATOR).get(_picture_url(message))

    assert response.status_code == 404
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert "Picture unavailable" in body
    assert "LINE no longer has this picture" in body


def test_it_shows_a_placeholder_instead_of_content_that_is_not_a_picture(line, staff):
    message = _picture_message(f"image:{_sent_to_line(line, b'<script>alert(1)</script>', 'image/png')}")

    response = staff(roles.OPERATOR).get(_picture_url(message))

    assert response.status_code == 502
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert "LINE did not return a picture we can show" in body
    assert "<script>" not in body


def test_it_shows_a_placeholder_for_a_message_without_a_picture(staff):
    message = _picture_message("file:12345")

    response = staff(roles.OPERATOR).get(_picture_url(message))

    assert response.status_code == 502
    assert "This message has no picture." in response.content.decode()


def test_it_shows_pictures_only_to_staff_who_may_view_messages(line, staff):
    message = _picture_message(f"image:{_sent_to_line(line, _png())}")

    assert staff(roles.CONTENT_EDITOR).get(_picture_url(message)).status_code == 403
    assert line.control.requests(endpoint="getMessageContent") == []
    assert staff(roles.ANALYST).get(_picture_url(message)).status_code == 403
    assert staff(roles.OPERATOR).get(_picture_url(message)).status_code == 200
    assert len(line.control.requests(endpoint="getMessageContent")) == 1
