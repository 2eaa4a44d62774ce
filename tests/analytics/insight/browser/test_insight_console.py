"""An analyst reads LINE's figures in the ops console at a laptop's 1366 x 768, in Chromium."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import roles
from analytics.insight_models import (
    DeliverySnapshot,
    FollowerSnapshot,
    MessageEventSnapshot,
    TrackedRequest,
    UnitSnapshot,
)
from analytics.insight_services import insight_track_request, insight_track_unit
from tests.browser import horizontal_overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENT = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
PAGES = [
    "followersnapshot",
    "deliverysnapshot",
    "messageeventsnapshot",
    "unitsnapshot",
    "trackedrequest",
    "trackedunit",
]


@pytest.fixture
def analyst(django_user_model):
    user = django_user_model.objects.create_user("anna", password="a-long-test-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ANALYST))
    return user


def test_it_shows_an_analyst_which_figures_line_withheld(console, analyst):
    tracked = insight_track_request("f70dd685-499a-4231-a441-f24b8d4fba21", sent_at=SENT, kind="broadcast")
    clicks = [{"seq": 1, "url": "https://example.com/" + "spring-sale/" * 12, "click": 41, "uniqueClick": None}]
    snapshot = MessageEventSnapshot.objects.create(
        request=tracked,
        date=SENT.date(),
        delivered=320,
        unique_impression=82,
        unique_click=None,
        clicks=clicks,
        fetched_at=SENT,
    )
    page = console(analyst)

    page.goto(reverse("admin:analytics_messageeventsnapshot_changelist"))
    cells = page.locator("#result_list tbody tr").first.locator("td, th").all_inner_texts()
    assert cells[1:6] == ["-", "2025-03-01", "320", "82", "hidden"]
    assert page.get_by_role("link", name="Add").count() == 0
    screenshot(page, "insight-broadcast-statistics")

    page.goto(reverse("admin:analytics_messageeventsnapshot_change", args=[snapshot.pk]))
    screenshot(page, "insight-broadcast-statistics-detail", full_page=True)
    assert page.get_by_role("button", name="Save").count() == 0
    assert horizontal_overflow(page) == 0
    links = page.locator(".field-links .readonly").inner_text()
    assert "opened 41 times by hidden users" in links
    assert page.locator(".field-bubbles .readonly").inner_text() == "none"


@pytest.mark.parametrize("model", PAGES)
def test_it_fits_every_insight_list_on_a_laptop_screen(console, analyst, model):
    unit = insight_track_unit("spring_sale_2025_variant_b", first_sent=SENT, campaign_id=123456)
    UnitSnapshot.objects.create(unit=unit, date_from=SENT.date(), date_to=SENT.date(), fetched_at=SENT)
    tracked = insight_track_request("f70dd685-499a-4231-a441-f24b8d4fba21", sent_at=SENT, kind="narrowcast")
    TrackedRequest.objects.filter(pk=tracked.pk).update(
        last_attempt_at=SENT, last_error="LINE insight_message_event answered HTTP 404."
    )
    MessageEventSnapshot.objects.create(request=tracked, date=SENT.date(), delivered=12345, fetched_at=SENT)
    FollowerSnapshot.objects.create(
        date=SENT.date(), status="ready", followers=123456, targeted_reaches=120000, blocks=3456, fetched_at=SENT
    )
    DeliverySnapshot.objects.create(
        date=SENT.date(), status="ready", api_broadcast=123456, api_push=99, fetched_at=SENT
    )
    page = console(analyst)

    page.goto(reverse(f"admin:analytics_{model}_changelist"))
    screenshot(page, f"insight-{model}")

    assert page.locator("#result_list tbody tr").count() == 1
    assert horizontal_overflow(page) == 0
    # The list scrolls sideways inside its box when it is too wide: nothing may be hidden that way.
    assert (
        page.evaluate(
            "(() => { const r = document.querySelector('.results'); return r.scrollWidth - r.clientWidth; })()"
        )
        == 0
    )
