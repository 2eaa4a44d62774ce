"""The ops console's home is the live dashboard the user may see; each dashboard has its page."""

import re

import pytest

from accounts import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(verified_client, make_staff):
    def sign_in(role):
        return verified_client(make_staff(f"user-{role.lower().replace(' ', '-')}", role=role))

    return sign_in


def test_it_shows_the_operations_dashboard_to_an_operator_on_the_admin_index(signed_in):
    page = signed_in(roles.OPERATOR).get("/admin/").content.decode()

    assert 'data-socket="/ws/dashboards/operations/"' in page
    assert 'data-metric="webhook_events_total"' in page
    assert 'data-metric="llm_cost_today_usd"' in page
    assert 'data-chart="webhook_events_per_second"' in page
    assert "monitoring/vendor/uplot/uPlot.iife.min.js" in page
    # The model list is still there, below.
    assert 'id="content-main"' in page


@pytest.mark.parametrize(("role", "dashboard"), [(roles.CONTENT_EDITOR, "campaigns"), (roles.ANALYST, "analytics")])
def test_it_shows_the_first_dashboard_the_role_may_see_on_the_admin_index(signed_in, role, dashboard):
    page = signed_in(role).get("/admin/").content.decode()

    assert f'data-socket="/ws/dashboards/{dashboard}/"' in page
    assert "/ws/dashboards/operations/" not in page


def test_it_refuses_a_dashboard_page_to_a_role_that_may_not_see_it(signed_in):
    assert signed_in(roles.ANALYST).get("/admin/dashboards/operations/").status_code == 403


def test_it_needs_the_console_sign_in_for_a_dashboard_page(client):
    response = client.get("/admin/dashboards/operations/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_answers_not_found_for_an_unknown_dashboard(signed_in):
    assert signed_in(roles.OPERATOR).get("/admin/dashboards/payroll/").status_code == 404


def test_it_serves_dashboard_pages_without_inline_script_or_style(signed_in):
    client = signed_in(roles.OPERATOR)
    for url in ("/admin/", "/admin/dashboards/campaigns/", "/admin/dashboards/analytics/"):
        page = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert " style=" not in page, url
