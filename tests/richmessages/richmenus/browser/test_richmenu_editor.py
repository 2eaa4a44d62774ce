"""The tap-area editor in Debian's Chromium: areas drawn on the image end up in the saved menu."""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from accounts import roles
from richmessages.richmenu_models import RichMenu
from tests.browser import launch_chromium

# Playwright's sync API runs an event loop in this thread; the ORM calls here stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture
def page(live_server, django_user_model):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import sync_playwright

    user = django_user_model.objects.create_user("editor", password="a-long-test-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CONTENT_EDITOR))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 1100})
        context.add_init_script(RECORD_VIOLATIONS)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()


def drag(page, box, start, end):
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start[0] + end[0]) / 2, box["y"] + box["height"] * end[1] / 2)
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1])
    page.mouse.up()


def test_it_draws_an_area_on_the_image_and_saves_it(page, line_settings, make_menu, tmp_path):
    menu = make_menu()
    # Screenshots to look at: BROWSER_SCREENSHOTS=<folder> keeps them where you want them.
    screenshots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)

    page.goto(f"/admin/richmessages/richmenu/{menu.pk}/change/")
    page.wait_for_selector(".richmenu-stage.has-image")
    assert page.locator(".richmenu-area").count() == 2
    layer = page.locator(".richmenu-layer")
    box = layer.bounding_box()
    # The image is 2500x843; the editor scales it to the page, and the areas with it.
    first = page.locator(".richmenu-area").first.bounding_box()
    assert abs(first["width"] - box["width"] / 2) < 2

    # Redraw: delete the right-hand area, then draw a new one over the right third.
    page.locator(".richmenu-area").nth(1).dispatch_event("pointerdown")
    page.click(".richmenu-remove")
    layer.scroll_into_view_if_needed()
    drag(page, layer.bounding_box(), (0.67, 0.1), (0.97, 0.9))
    page.fill("input[data-field=name]", "coupon")
    page.select_option("select[data-field=action]", "message")
    page.fill("input[data-field='Message text']", "Show me my coupons")
    page.screenshot(path=str(screenshots / "richmenu-editor.png"), full_page=True)

    areas = json.loads(page.input_value("textarea.richmenu-areas-json"))
    assert [area["name"] for area in areas] == ["help", "coupon"]
    drawn = areas[1]
    assert abs(drawn["x"] - 0.67 * 2500) < 15 and abs(drawn["width"] - 0.30 * 2500) < 15
    assert abs(drawn["y"] - 0.1 * 843) < 10 and abs(drawn["height"] - 0.8 * 843) < 10

    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    menu.refresh_from_db()
    assert menu.areas[1] == {**drawn, "action": {"type": "message", "text": "Show me my coupons"}}
    live = RichMenu.objects.get(pk=menu.pk).live_deployment.line_rich_menu_id
    assert line_settings.double.state.rich_menus[live].body["areas"][1]["action"]["text"] == "Show me my coupons"
    assert page.evaluate("window.__cspViolations") == []
    page.screenshot(path=str(screenshots / "richmenu-editor-saved.png"), full_page=True)


def test_it_previews_a_chosen_image_before_upload(page, make_menu, tmp_path):
    from tests.richmessages.richmenus.conftest import image_bytes

    picture = tmp_path / "menu.png"
    picture.write_bytes(image_bytes(1200, 405, color=(240, 180, 0)))

    page.goto("/admin/richmessages/richmenu/add/")
    page.set_input_files("input[name=image]", str(picture))
    page.wait_for_selector(".richmenu-stage.has-image")
    box = page.locator(".richmenu-layer").bounding_box()
    drag(page, box, (0.05, 0.1), (0.5, 0.9))

    [area] = json.loads(page.input_value("textarea.richmenu-areas-json"))
    assert area["name"] == "area-1" and abs(area["width"] - 0.45 * 1200) < 10
    assert page.evaluate("window.__cspViolations") == []
