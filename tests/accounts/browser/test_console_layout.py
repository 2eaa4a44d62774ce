"""The ops console at a laptop's 1366 x 768, in Chromium: what a newcomer needs stays on screen."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import roles
from core import config
from core.config.services import setting_update
from core.models import RuntimeSetting
from tests.browser import LAPTOP_VIEWPORT, horizontal_overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERSONA = "You are the friendly assistant of the Kyoto bakery, open from seven until six every day. " * 5


@pytest.fixture
def administrator(django_user_model):
    user = django_user_model.objects.create_user("ada", password="a-long-test-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    return user


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
