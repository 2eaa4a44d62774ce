"""The ops console at a laptop's 1366 x 768, in Chromium: what a newcomer needs stays on screen."""

import base64
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from PIL import Image

from accounts import roles
from conversations.models import Conversation, LineUser, Message
from core import config
from core.config.services import setting_update
from core.models import RuntimeSetting
from linesim.line.testing import running_line_double
from tests.browser import LAPTOP_VIEWPORT, horizontal_overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AIKO = "U" + "a1" * 16
PERSONA = "You are the friendly assistant of the Kyoto bakery, open from seven until six every day. " * 5


@pytest.fixture
def administrator(django_user_model):
    user = django_user_model.objects.create_user("ada", password="a-long-test-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    return user


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("otto", password="a-long-test-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    return user


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture
def line_settings(line, settings):
    # The live server runs in this process, so it talks to the double too.
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    line.control.reset()
    return line


def _on_screen_horizontally(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP_VIEWPORT["width"]


def test_it_keeps_the_rollback_control_on_screen(console, administrator):
    v1 = setting_update(key="persona", value=PERSONA, actor=administrator, reason="the bakery's voice")
    setting_update(
        key="persona",
        value=PERSONA.replace("Kyoto", "Osaka") + "\nAlso keep every answer under three sentences.",
        actor=administrator,
        reason="the Osaka shop opened and long answers annoyed people",
    )
    page = console(administrator)
    page.goto(reverse("admin:core_runtimesetting_change", args=[RuntimeSetting.objects.get(key="persona").pk]))

    rollback = page.locator(f'a[href="{reverse("admin:core_runtimesettingversion_rollback", args=[v1.pk])}"]')
    rollback.scroll_into_view_if_needed()
    screenshot(page, "runtime-setting-history")

    assert horizontal_overflow(page) <= 0
    assert _on_screen_horizontally(rollback)
    rollback.click()
    page.wait_for_load_state()
    screenshot(page, "runtime-setting-rollback")
    assert horizontal_overflow(page) <= 0
    assert _on_screen_horizontally(page.locator("#rollback-submit"))
    page.fill("#id_reason", "the Kyoto wording was clearer")
    page.click("#rollback-submit")
    page.wait_for_load_state()
    assert config.get("persona") == PERSONA


def test_it_keeps_the_message_column_of_the_messages_list_on_screen_newest_first(console, operator):
    user = LineUser.objects.create(line_user_id=AIKO, display_name="Aiko")
    conversation = Conversation.objects.create(source_type="user", source_id=AIKO, user=user)
    for turn in range(6):
        Message.objects.create(
            conversation=conversation,
            line_user=user,
            role="user",
            content=f"Question {turn}: which cakes are gluten free and can I order them for Saturday? " * 3,
            correlation_id="req-" + "0123456789abcdef" * 2,
        )
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            content=f"Answer {turn}: the almond and chocolate cakes are gluten free. " * 6,
            prompt_tokens=812,
            completion_tokens=164,
            latency_ms=1830,
            correlation_id="req-" + "0123456789abcdef" * 2,
        )
    page = console(operator)
    page.goto(reverse("admin:conversations_message_changelist"))
    screenshot(page, "messages-list")

    assert horizontal_overflow(page) <= 0
    assert _on_screen_horizontally(page.locator("#result_list th.column-short_content"))
    first_row = page.locator("#result_list tbody tr").first
    assert first_row.locator("td.field-short_content").inner_text().startswith("Answer 5:")


def test_it_lists_webhook_events_with_lines_filters_and_an_estimated_count(console, operator, monkeypatch):
    from conversations.models import WebhookEvent
    from core.large_table_admin import BoundedCountPaginator

    monkeypatch.setattr(BoundedCountPaginator, "exact_up_to", 5)
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            webhook_event_id=f"01EVENT{n:019d}",
            content_digest=str(n),
            event_type="message",
            message_type="text",
            source_type="user",
            line_user_id=AIKO,
            source_id=AIKO,
            payload={},
            correlation_id=f"{n:032x}",
        )
        for n in range(8)
    )
    page = console(operator)
    page.goto(reverse("admin:conversations_webhookevent_changelist"))
    screenshot(page, "webhook-events-list")

    assert horizontal_overflow(page) <= 0
    # The list scrolls sideways inside its own box: the last column must end within that box.
    results = page.locator("#changelist .results").bounding_box()
    last = page.locator("#result_list th.column-correlation").bounding_box()
    assert last["x"] + last["width"] <= results["x"] + results["width"]
    assert page.locator("#result_list td.field-user span").first.get_attribute("title") == AIKO
    assert "about" in page.locator("p.paginator").inner_text()
    page.get_by_role("link", name="memberJoined").click()
    assert page.locator("p.paginator").inner_text().strip() == "0 webhook events"
    page.goto(reverse("admin:conversations_webhookevent_changelist") + f"?q={3:032x}")
    assert page.locator("#result_list tbody tr").count() == 1


def _png(size=(160, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (6, 199, 85)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_it_shows_canned_replies_and_pictures_in_the_transcript(console, operator, line_settings):
    sent = line_settings.control.send_webhook(
        type="image", userId=AIKO, contentBase64=base64.b64encode(_png()).decode()
    )
    user = LineUser.objects.create(line_user_id=AIKO, display_name="Aiko")
    conversation = Conversation.objects.create(source_type="user", source_id=AIKO, user=user)
    Message.objects.create(conversation=conversation, role="assistant", content="Hello Aiko! Thanks for adding me.")
    kept = Message.objects.create(
        conversation=conversation,
        line_user=user,
        role="user",
        content="(picture)",
        media_ref=f"image:{sent['event']['message']['id']}",
    )
    gone = Message.objects.create(
        conversation=conversation, line_user=user, role="user", content="(picture)", media_ref="image:404404404"
    )
    Message.objects.create(conversation=conversation, role="assistant", content="Nice sticker! 😊")
    page = console(operator)
    page.goto(reverse("admin:conversations_conversation_change", args=[conversation.pk]))
    page.wait_for_load_state("networkidle")
    screenshot(page, "transcript", full_page=True)

    assert horizontal_overflow(page) <= 0
    transcript = page.locator(".ops-transcript").inner_text()
    assert "Hello Aiko! Thanks for adding me." in transcript and "Nice sticker! 😊" in transcript
    for message, width in ((kept, 160), (gone, 320)):
        image = page.locator(f'img[src="{reverse("admin:conversations_message_picture", args=[message.pk])}"]')
        assert image.evaluate("img => img.complete && img.naturalWidth") == width


def test_it_leads_from_view_site_to_a_front_page_and_back(console, operator):
    page = console(operator)
    failed = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(reverse("admin:index"))

    page.click("#user-tools a:text('View site')")
    page.wait_for_load_state("networkidle")
    screenshot(page, "front-page")

    assert page.url.endswith("/")
    assert page.title() == "LINE bot platform"
    page.click("text=Ops console")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(reverse("admin:index"))
    assert failed == []
