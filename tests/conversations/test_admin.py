import pytest
from django.contrib.auth import get_user_model

from conversations.models import Conversation, WebhookEvent
from tests.doubles import answer_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(verified_client):
    """A superuser signed in with password and a confirmed TOTP device, as the ops console requires."""
    return verified_client(get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password-123"))


def test_it_finds_webhook_events_by_correlation_id_and_line_user(post_events, events, admin_client):
    post_events(events.text("find me", user_id="U" + "c" * 32), HTTP_X_REQUEST_ID="corr-findme")
    post_events(events.text("not me", user_id="U" + "d" * 32))
    page = admin_client.get("/admin/conversations/webhookevent/", {"q": "corr-findme"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    page = admin_client.get("/admin/conversations/webhookevent/", {"q": "U" + "d" * 32})
    assert page.context["cl"].result_count == 1
    page = admin_client.get("/admin/conversations/lineuser/", {"q": "corr-findme"})
    assert page.context["cl"].result_count == 1


def test_it_shows_a_conversations_transcript_read_only(post_events, events, admin_client):
    post_events(events.text("show my transcript"))
    conversation = Conversation.objects.get()
    page = admin_client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "show my transcript" in body and answer_to("show my transcript") in body
    assert 'name="messages-0-content"' not in body  # shown, not editable
    assert admin_client.post(f"/admin/conversations/conversation/{conversation.pk}/change/", {}).status_code == 403
    assert WebhookEvent.objects.count() == 1
