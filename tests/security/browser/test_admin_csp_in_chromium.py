"""In a real Chromium, the ops console pages trigger no Content-Security-Policy violation and still work."""

import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from core import config
from core.config.services import setting_update
from core.models import RuntimeSetting, RuntimeSettingVersion
from tests.browser import launch_chromium

# Playwright's sync API runs an event loop in this thread; the ORM calls here stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script (outside the page's CSP) and records every violation the page causes.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ""}`.trim());
});
"""


@pytest.fixture
def signed_in_page(live_server, django_user_model):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import sync_playwright

    user = django_user_model.objects.create_superuser(username="root", password="a-long-test-password-123")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(base_url=live_server.url)
        context.add_init_script(RECORD_VIOLATIONS)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        console = []
        page.on("console", lambda message: console.append(message.text))
        page.console_messages = console
        yield page
        context.close()
        browser.close()
        # Django keeps a connection per context, and inside sync_playwright() the test body's queries run in
        # another one: its connection is not the one Django's teardown closes. Left open, it kept the test
        # database from being dropped at the end of the run ("being accessed by other users").
        connections.close_all()


def _violations(page) -> list[str]:
    found = page.evaluate("window.__cspViolations")
    found += [text for text in page.console_messages if "Content Security Policy" in text]
    return found


def test_it_shows_admin_pages_without_a_csp_violation(signed_in_page):
    persona = RuntimeSetting.objects.get(key="persona")
    # Overridden, so the rollback page to the default (version 0) has something to show.
    setting_update(key="persona", value="You are Ada.", actor=get_user_model().objects.get(), reason="a test")
    urls = [
        "/admin/",
        "/admin/core/runtimesetting/",
        f"/admin/core/runtimesetting/{persona.pk}/change/",
        "/admin/core/runtimesettingversion/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/conversations/message/",
        f"/admin/core/runtimesetting/{persona.pk}/rollback-to-default/",
        "/api/v1/docs/",
        "/",
    ]
    for url in urls:
        response = signed_in_page.goto(url)
        signed_in_page.wait_for_load_state("networkidle")
        assert response.status == 200, url
        assert "Content-Security-Policy" in {name.title() for name in response.headers}, url
        assert _violations(signed_in_page) == [], url


def test_it_lets_an_operator_change_a_setting_through_the_admin_under_the_policy(signed_in_page):
    setting = RuntimeSetting.objects.get(key="llm.temperature")
    page = signed_in_page
    page.goto(f"/admin/core/runtimesetting/{setting.pk}/change/")
    page.fill("#id_value", "1.4")
    page.fill("#id_reason", "livelier answers for the campaign")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/core/runtimesetting/")

    assert "was changed successfully" in page.content()
    assert _violations(page) == []
    assert config.get("llm.temperature") == 1.4
    version = RuntimeSettingVersion.objects.get(setting=setting)
    assert version.reason == "livelier answers for the campaign"

    page.goto(f"/admin/core/runtimesettingversion/{version.pk}/rollback/")
    assert _violations(page) == []
