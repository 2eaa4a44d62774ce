import pytest

from richmessages.models import RichTemplateVersion
from tests.richmessages.conftest import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _note_error(problems, message):
    # The browser asks for /favicon.ico on its own; the console has none.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        problems.append(message.text)


def test_it_lets_an_editor_upload_and_an_operator_approve_in_the_console(page_as, editor, operator, tmp_path):
    background = tmp_path / "sunrise.png"
    background.write_bytes(image_bytes(size=(1040, 700), color=(240, 150, 40)))
    problems = []

    page = page_as(editor)
    page.on("console", lambda message: _note_error(problems, message))
    page.goto("/admin/richmessages/richtemplate/add/")
    page.fill("#id_name", "Sunrise")
    page.set_input_files("#id_image", str(background))
    page.fill("#id_theme", "motivation")
    page.fill("#id_title_x", "40")
    page.fill("#id_title_y", "40")
    page.fill("#id_title_width", "900")
    page.fill("#id_title_height", "160")
    page.fill("#id_copy_th_title", "อรุณสวัสดิ์")
    page.click("input[name=_save]")
    page.wait_for_load_state()

    version = RichTemplateVersion.objects.get()
    assert page.url.endswith(f"/admin/richmessages/richtemplateversion/{version.pk}/change/")
    thumbnail = page.locator("img.rich-thumbnail").first
    thumbnail.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth", thumbnail.element_handle()) == 1040
    assert page.locator("#rich-preview").count() == 1
    page.screenshot(path=str(tmp_path / "draft.png"), full_page=True)

    page = page_as(operator)
    page.goto(f"/admin/richmessages/richtemplateversion/{version.pk}/change/")
    page.click("button.rich-approve")
    page.wait_for_load_state()
    page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)

    version.refresh_from_db()
    assert (version.status, version.approved_by) == ("approved", operator)
    assert "Edit as a new draft" not in page.content()  # operators do not edit
    page.goto("/admin/richmessages/richtemplate/")
    assert page.evaluate("img => img.naturalWidth", page.locator("img.rich-thumbnail").first.element_handle()) == 1040
    page.screenshot(path=str(tmp_path / "list.png"))
    assert problems == []
