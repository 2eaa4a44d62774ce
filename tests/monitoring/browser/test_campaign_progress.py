"""A campaign's page in Chromium follows its progress live, from the campaigns dashboard's ticker."""

import pytest

from accounts import roles
from richmessages.campaigns import selectors, services
from richmessages.campaigns.models import Campaign, CampaignSend
from tests.browser import screenshot
from tests.monitoring.conftest import session_for
from tests.richmessages.campaigns.conftest import make_rich_message

from .test_live_dashboard import _page, _wait_for_number

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_it_shows_a_campaigns_progress_live_on_its_page(browser, live_stack, make_staff):
    editor = make_staff("writer", role=roles.CONTENT_EDITOR)
    operator = make_staff("reviewer", role=roles.OPERATOR)
    campaign = services.campaign_create(
        author=editor, name="Live run", rich_message=make_rich_message(), audience={"type": "all_followers"}
    )
    services.campaign_submit(campaign=campaign, actor=editor)
    services.campaign_approve(campaign=campaign, approver=operator)
    # Mid-send, as delivery leaves it after a few chunks (nobody follows here: nothing is really sent).
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    CampaignSend.objects.filter(campaign=campaign).update(status="sending", recipients=2000, sent=500)
    sent_key = selectors.progress_key(campaign.pk, "Live run", "sent")

    page = _page(browser, live_stack, session_for(operator))
    page.goto(f"/admin/richmessages/campaign/{campaign.pk}/change/")
    page.wait_for_selector('#ops-dashboard[data-connection="live"]')
    assert _wait_for_number(page, sent_key, 500) == 500
    CampaignSend.objects.filter(campaign=campaign).update(sent=1500)

    assert _wait_for_number(page, sent_key, 1500) == 1500
    assert page.inner_text(f'[data-metric="{sent_key}"]') == "1,500"
    assert (
        page.inner_text(f'[data-metric="{selectors.progress_key(campaign.pk, "Live run", "recipients")}"]') == "2,000"
    )
    screenshot(page, "campaign-live-progress", full_page=True)

    page.goto("/admin/dashboards/campaigns/")
    page.wait_for_selector('#ops-dashboard[data-connection="live"]')
    assert _wait_for_number(page, "campaigns_in_flight", 1) == 1
    assert _wait_for_number(page, sent_key, 1500) == 1500
    screenshot(page, "dashboard-campaigns", full_page=True)
    page.context.close()
