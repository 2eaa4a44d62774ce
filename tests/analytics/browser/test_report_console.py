"""An analyst reads a campaign's analytics in the ops console at a laptop's 1366 x 768, in Chromium."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import roles
from tests.browser import horizontal_overflow, screenshot

from ..conftest import SENT, deliver, hold_out, make_users, roll, tap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def analyst(django_user_model):
    user = django_user_model.objects.create_user("anna", password="a-long-test-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ANALYST))
    return user


def test_it_shows_an_analyst_a_campaigns_measures_and_chart(console, analyst, campaign):
    users = make_users(60)
    deliver(campaign, users[:25], variant="A")
    deliver(campaign, users[25:50], variant="B", at=SENT + timedelta(days=1))
    hold_out(campaign, users[50:])
    for user in users[:8]:
        tap(user, campaign.rich_message, "like", at=SENT + timedelta(hours=2))
    for user in users[25:30]:
        tap(user, campaign.rich_message, "more", at=SENT + timedelta(days=1, hours=2))
    roll()
    page = console(analyst)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(reverse("admin:analytics_campaign_report", args=[campaign.pk]))

    page.locator("#analytics-chart canvas").first.wait_for()
    assert page.locator("#analytics-days tr").count() == 2
    assert page.get_by_role("cell", name="Postback engagement rate").count() == 1
    assert horizontal_overflow(page) == 0
    assert not errors
    screenshot(page, "analytics-campaign-report", full_page=True)
