"""The content team's work in the ops console, in Debian's Chromium: upload, four-eyes approval, the live preview,
building a message with AI copy, its preview as LINE shows it, validation with LINE and a test send.

``DOCS_SCREENSHOTS=1`` also writes the screenshots of docs/content-team.md to docs/img/.
"""

import pytest
from playwright.sync_api import expect

from conversations.models import LineUser
from linesim.llm.replies import SAMPLE_TEXTS
from richmessages.message_services import rich_message_build
from richmessages.models import RichMessage, RichTemplateVersion
from richmessages.richmenu_images import richmenu_image_check
from richmessages.richmenu_models import RichMenu
from richmessages.richmenu_services import richmenu_save
from tests.browser import LAPTOP_VIEWPORT, docs_screenshot, horizontal_overflow, screenshot
from tests.richmessages.messages.conftest import background_bytes
from tests.richmessages.richmenus.conftest import HELP_AREA, SWITCH_AREA
from tests.richmessages.richmenus.conftest import image_bytes as menu_image_bytes
from tests.richmessages.richmenus.conftest import upload as menu_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READY = "#rich-preview[data-state=ready]"
HERO = ".rich-preview-stage .flex-bubble .flex-image img"


def _note_error(problems, message):
    url = message.location.get("url", "")
    # The preview's answer to a form it cannot compose is a 400, which Chromium reports as a failed load.
    refused_preview = url.endswith("/preview/") and "status of 400" in message.text
    if message.type == "error" and not url.endswith("/favicon.ico") and not refused_preview:
        problems.append(message.text)


def watched(page_as, user):
    page = page_as(user)
    page.set_viewport_size(LAPTOP_VIEWPORT)
    page.problems = []
    page.on("console", lambda message: _note_error(page.problems, message))
    return page


def wait_for_hero(page) -> int:
    """The width of the preview's hero image once loaded (the renderer loads images lazily: scrolled into view)."""
    page.locator(".rich-preview-stage").scroll_into_view_if_needed()
    page.wait_for_function(f"() => {{ const i = document.querySelector('{HERO}'); return i && i.naturalWidth > 0 }}")
    return page.evaluate(f"() => document.querySelector('{HERO}').naturalWidth")


def test_it_previews_a_draft_live_as_its_fields_change(page_as, make_template, editor):
    version = make_template(approve=False, curated_copy={"th": {"title": "เช้าวันใหม่", "body": "สดชื่นกันนะ"}})
    version = version.versions.get()
    page = watched(page_as, editor)

    page.goto(f"/admin/richmessages/richtemplateversion/{version.pk}/change/")
    page.wait_for_selector(READY)
    expect(page.locator(".rich-preview-stage .flex-text", has_text="เช้าวันใหม่")).to_be_visible()
    assert wait_for_hero(page) == 1024
    first = page.get_attribute(HERO, "src")
    expect(page.locator(".rich-preview-stage .flex-button")).to_have_count(4)

    page.fill("#id_title_y", "300")
    page.wait_for_function(f"src => document.querySelector('{HERO}').src !== src", arg=first)
    assert wait_for_hero(page) == 1024
    screenshot(page, "rich-preview-draft")

    page.fill("#id_title_x", "1000")
    page.fill("#id_title_width", "900")
    expect(page.locator(".rich-preview-errors li", has_text="title_area")).to_be_visible()
    expect(page.locator(".rich-preview-status.problem")).to_be_visible()
    screenshot(page, "rich-preview-error")

    page.fill("#id_title_x", "60")
    page.fill("#id_title_width", "1080")
    page.select_option(".rich-preview-language", "ja")
    expect(page.locator(".rich-preview-stage .flex-text", has_text="今日のお知らせ")).to_be_visible()
    page.locator(".rich-preview-stage .flex-button").first.click()
    expect(page.locator(".rich-preview-tap")).to_contain_text("action=rich&m=preview&b=more")
    page.locator("#rich-preview").scroll_into_view_if_needed()
    docs_screenshot(page.locator("#rich-preview"), "content-preview")
    assert horizontal_overflow(page) == 0
    assert page.problems == []


def test_it_walks_the_content_team_through_the_console(
    page_as, editor, operator, llm, line, settings, live_server, tmp_path
):
    settings.PUBLIC_BASE_URL = live_server.url
    background = tmp_path / "morning.jpg"
    background.write_bytes(background_bytes())

    page = watched(page_as, editor)
    page.goto("/admin/richmessages/richtemplate/add/")
    page.fill("#id_name", "Morning")
    page.set_input_files("#id_image", str(background))
    page.fill("#id_theme", "morning")
    for field, value in {"x": "60", "y": "60", "width": "1080", "height": "220"}.items():
        page.fill(f"#id_title_{field}", value)
    for field, value in {"x": "60", "y": "480", "width": "1080", "height": "240"}.items():
        page.fill(f"#id_body_{field}", value)
    for button in ("more", "like", "save", "share"):
        page.check(f"input[name=buttons][value={button}]")
    page.fill("#id_copy_th_title", "อรุณสวัสดิ์")
    page.fill("#id_copy_th_body", "ขอให้วันนี้เป็นวันที่ดี")
    page.evaluate("window.scrollTo(0, 0)")
    docs_screenshot(page, "content-upload")
    page.click("input[name=_save]")
    page.wait_for_selector(READY)
    version = RichTemplateVersion.objects.get()
    expect(page.locator("button.rich-approve")).to_have_count(0)  # the author may not approve

    approver = watched(page_as, operator)
    approver.goto(f"/admin/richmessages/richtemplateversion/{version.pk}/change/")
    approver.wait_for_selector(READY)
    docs_screenshot(approver, "content-approve")
    approver.click("button.rich-approve")
    expect(approver.locator(".messagelist")).to_contain_text("Approved Morning version 1")

    page.goto("/admin/richmessages/richmessage/add/")
    page.select_option("#id_template", label="Morning")
    page.select_option("#id_language", "th")
    page.fill("#id_theme", "a calm start to the week")
    page.fill("#id_tone", "warm")
    docs_screenshot(page, "content-build")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("copy: written by the ai")
    message = RichMessage.objects.get()
    assert (message.title, message.copy_source) == (SAMPLE_TEXTS["th"][0], "ai")

    assert wait_for_hero(page) == 1024
    expect(page.locator(".rich-preview-stage .flex-text", has_text=SAMPLE_TEXTS["th"][0])).to_be_visible()
    expect(page.locator(".rich-preview-stage .flex-button", has_text="บอกเพิ่มเติม")).to_be_visible()
    docs_screenshot(page, "content-message", full_page=True)
    page.click("button.rich-validate")
    expect(page.locator(".messagelist")).to_contain_text("LINE accepts this message.")

    follower = "U" + "f" * 32
    line.control.add_user(follower, "Nok", language="th")
    LineUser.objects.create(line_user_id=follower, display_name="Nok", language="th")
    page.click("a.rich-test-send")
    page.fill("#id_line_user_id", follower)
    docs_screenshot(page, "content-test-send", clip={"x": 0, "y": 0, "width": 1366, "height": 420})
    page.click("input[type=submit][value=Send]")
    expect(page.locator(".messagelist")).to_contain_text("Sent to Nok")
    assert line.control.messages(user_id=follower)[0]["message"] == message.flex
    screenshot(page, "rich-message-sent", full_page=True)
    assert page.problems == [] and approver.problems == []


def test_it_shows_the_rich_menu_editor_for_the_docs(page_as, operator):
    menu = RichMenu(name="Main menu", chat_bar_text="Menu", areas=[HELP_AREA, SWITCH_AREA])
    richmenu_save(menu=menu, image=richmenu_image_check(menu_upload(menu_image_bytes(color=(40, 110, 170)))))
    page = watched(page_as, operator)

    page.goto(f"/admin/richmessages/richmenu/{menu.pk}/change/")

    expect(page.locator(".richmenu-stage.has-image")).to_be_visible()
    page.locator(".richmenu-editor").scroll_into_view_if_needed()
    docs_screenshot(page, "content-richmenu")
    assert page.problems == []


def test_it_draws_a_stored_message_without_console_errors(page_as, make_template, editor):
    message = rich_message_build(
        template=make_template(), language="ja", title="おはよう", body="よい一日を。", actor=editor
    )
    page = watched(page_as, editor)

    page.goto(f"/admin/richmessages/richmessage/{message.pk}/change/")

    assert wait_for_hero(page) == 1024
    expect(page.locator(".rich-preview-stage .flex-text", has_text="おはよう")).to_be_visible()
    expect(page.locator(".rich-preview-stage .flex-button")).to_have_count(4)
    screenshot(page, "rich-message-ja", full_page=True)
    assert horizontal_overflow(page) == 0
    assert page.problems == []
