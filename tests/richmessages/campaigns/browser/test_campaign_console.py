"""Draft → submit → approve by a second user → sent, driven in Chromium; a real worker sends through the double."""

from collections import Counter

import pytest

from richmessages.campaigns.models import Campaign
from tests.browser import LAPTOP_VIEWPORT, horizontal_overflow, screenshot
from tests.richmessages.campaigns.conftest import make_followers, make_rich_message

from .conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _note_error(problems, message):
    # The browser asks for /favicon.ico on its own; the console has none.
    if message.type != "error" or message.location.get("url", "").endswith("/favicon.ico"):
        return
    # This test's server speaks HTTP only: a page opened while the campaign is sending asks for the live
    # progress socket and is refused. The socket itself is tested under daphne
    # (tests/monitoring/browser/test_campaign_progress.py).
    if message.text.startswith("WebSocket connection to") and "/ws/dashboards/campaigns/" in message.text:
        return
    problems.append(message.text)


def status_of(page) -> str:
    return page.locator("[data-campaign-status]").get_attribute("data-campaign-status")


def test_it_goes_from_draft_to_sent_with_a_second_user_approving(live, page_as, editor, operator):
    users = make_followers(30)
    live.control.add_followers([user.line_user_id for user in users])
    message = make_rich_message("Spring run")
    problems = []

    page = page_as(editor)
    page.set_viewport_size(LAPTOP_VIEWPORT)
    page.on("console", lambda m: _note_error(problems, m))
    page.goto("/admin/richmessages/campaign/add/")
    page.fill("#id_name", "Spring run")
    page.select_option("#id_rich_message", str(message.pk))
    page.select_option("#id_audience_type", "all_followers")
    page.fill("#id_frequency_cap_day", "3")
    screenshot(page, "campaign-draft-form", full_page=True)
    page.click("input[name=_save]")
    page.wait_for_load_state()

    campaign = Campaign.objects.get()
    assert page.url.endswith(f"/admin/richmessages/campaign/{campaign.pk}/change/")
    assert page.locator("[data-estimate=recipients]").inner_text() == "30"
    assert status_of(page) == "draft"
    page.click("button.campaign-submit")
    page.wait_for_load_state()
    assert status_of(page) == "in_review"
    assert page.locator("button.campaign-approve").count() == 0
    screenshot(page, "campaign-in-review-editor", full_page=True)

    page = page_as(operator)
    page.set_viewport_size(LAPTOP_VIEWPORT)
    page.on("console", lambda m: _note_error(problems, m))
    page.goto(f"/admin/richmessages/campaign/{campaign.pk}/change/")
    page.fill("#id_comment", "Ready to go")
    page.click("button.campaign-approve")
    page.wait_for_load_state()
    assert "Approved." in page.locator("ul.messagelist").inner_text()

    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, timeout=90)
    page.reload()
    assert status_of(page) == "sent"
    assert page.locator("[data-count=sent]").inner_text() == "30"
    assert "approved by operator" in page.locator(".campaign-status").inner_text()
    assert horizontal_overflow(page) == 0
    screenshot(page, "campaign-sent", full_page=True)

    page.click("a.campaign-recipients")
    page.wait_for_load_state()
    assert page.locator('td[data-status="sent"]').count() == 30
    screenshot(page, "campaign-recipients", full_page=True)

    received = Counter(user for call in live.control.requests(endpoint="multicast", status=200) for user in call["to"])
    assert received == Counter({user.line_user_id: 1 for user in users})
    assert problems == []


def test_it_shows_no_approve_button_to_the_author_of_a_campaign(live, page_as, administrator):
    # A demographic narrowcast: LINE's minimum reach (100 followers) is checked when it is submitted.
    make_followers(100)
    message = make_rich_message()
    problems = []
    page = page_as(administrator)
    page.set_viewport_size(LAPTOP_VIEWPORT)
    page.on("console", lambda m: _note_error(problems, m))
    page.goto("/admin/richmessages/campaign/add/")
    page.fill("#id_name", "My own")
    page.select_option("#id_rich_message", str(message.pk))
    assert not page.locator("fieldset.audience-narrowcast").is_visible()
    page.select_option("#id_audience_type", "narrowcast")
    assert page.locator("fieldset.audience-narrowcast").is_visible()
    assert not page.locator("fieldset.audience-segment").is_visible()
    assert not page.locator("fieldset.audience-users").is_visible()
    page.check("#id_narrowcast_genders_1")
    page.check("#id_narrowcast_app_types_0")
    page.select_option("#id_narrowcast_age_from", "age_20")
    page.select_option("#id_narrowcast_age_to", "age_40")
    page.fill("#id_narrowcast_areas", "th_01, th_02")
    page.select_option("#id_narrowcast_friends_at_least", "day_30")
    page.fill("#id_narrowcast_limit", "500")
    assert horizontal_overflow(page) == 0
    screenshot(page, "campaign-narrowcast-form", full_page=True)
    page.click("input[name=_save]")
    page.wait_for_load_state()

    assert Campaign.objects.get().audience["demographic"]["and"][0] == {"type": "gender", "oneOf": ["female"]}
    assert "gender female and app iOS and aged 20 to below 40" in page.locator(".campaign-facts").inner_text()
    page.click("button.campaign-submit")
    page.wait_for_load_state()

    assert status_of(page) == "in_review"
    assert page.locator("button.campaign-approve").count() == 0
    assert page.locator("button.campaign-reject").count() == 1
    assert "someone else must approve it" in page.locator(".campaign-own").inner_text()
    screenshot(page, "campaign-own-in-review", full_page=True)
    assert problems == []
