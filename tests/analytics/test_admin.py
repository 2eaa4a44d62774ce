"""The analytics pages of the console: read-only, for those who may view analytics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from .conftest import SENT, deliver, make_users, roll, tap

pytestmark = pytest.mark.django_db


def test_it_shows_an_analyst_a_campaigns_measures_with_their_denominators(verified_client, analyst, campaign):
    users = make_users(4)
    deliver(campaign, users)
    tap(users[0], campaign.rich_message, "like", at=SENT + timedelta(hours=1))
    roll()

    page = verified_client(analyst).get(reverse("admin:analytics_campaign_report", args=[campaign.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Postback engagement rate" in html and "25 %" in html and "delivered (ours) (4)" in html
    assert 'id="analytics-chart-data" type="application/json"' in html
    assert "<script>" not in html


def test_it_keeps_the_rollups_read_only(verified_client, analyst, campaign):
    deliver(campaign, make_users(1))
    roll()
    client = verified_client(analyst)

    listing = client.get(reverse("admin:analytics_dailyrollup_changelist"))

    assert listing.status_code == 200 and b"delivered" in listing.content
    assert client.get(reverse("admin:analytics_dailyrollup_add")).status_code == 403


def test_it_refuses_the_report_to_a_role_without_analytics(verified_client, editor, campaign):
    response = verified_client(editor).get(reverse("admin:analytics_campaign_report", args=[campaign.pk]))

    assert response.status_code == 403


def test_it_answers_an_unknown_campaign_with_a_404(verified_client, analyst):
    assert verified_client(analyst).get(reverse("admin:analytics_campaign_report", args=[999999])).status_code == 404


def test_it_shows_a_templates_measures(verified_client, analyst, campaign):
    template = campaign.rich_message.template_version.template_id

    page = verified_client(analyst).get(reverse("admin:analytics_template_report", args=[template]))

    assert page.status_code == 200 and b"Morning run" in page.content
