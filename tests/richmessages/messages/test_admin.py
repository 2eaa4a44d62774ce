"""Rich messages in the ops console: build, view (with the Flex preview), validate with LINE, test-send; the live
preview of a template version."""

import json

import pytest

from accounts.models import AuditEvent
from conversations.models import LineUser
from richmessages.message_services import rich_message_build
from richmessages.models import RichMessage
from tests.richmessages.conftest import stored_files
from tests.richmessages.test_admin import signed_in

pytestmark = pytest.mark.django_db

MESSAGES = "/admin/richmessages/richmessage/"
VERSIONS = "/admin/richmessages/richtemplateversion/"
FOLLOWER = "U" + "e" * 32


@pytest.fixture
def message(make_template, editor):
    return rich_message_build(template=make_template(), language="en", title="Hello", body="There", actor=editor)


def test_it_builds_a_message_through_the_form(make_template, editor):
    template = make_template()
    make_template("Draft only", approve=False)
    client = signed_in(editor)

    page = client.get(f"{MESSAGES}add/").content.decode()
    response = client.post(
        f"{MESSAGES}add/", {"template": template.pk, "language": "en", "title": "Hi", "body": "Over there"}
    )

    assert "Morning" in page and "Draft only" not in page
    message = RichMessage.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{MESSAGES}{message.pk}/change/"
    assert (message.title, message.body, message.copy_source) == ("Hi", "Over there", "given")


def test_it_puts_the_services_complaints_on_the_fields(make_template, editor, media_root):
    template = make_template()

    page = signed_in(editor).post(
        f"{MESSAGES}add/", {"template": template.pk, "language": "en", "title": "x" * 41, "theme": "rain"}
    )

    assert page.status_code == 200
    assert "is 41 characters long; the template allows at most 40" in page.content.decode()
    assert RichMessage.objects.count() == 0
    assert not [f for f in stored_files(media_root) if f.startswith("rich/composed/")]


def test_it_shows_a_message_with_its_flex_message_for_the_preview(message, editor):
    response = signed_in(editor).get(f"{MESSAGES}{message.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    start = page.index('id="rich-flex-json"')
    shown = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert shown["contents"]["hero"]["url"] == f"/media/{message.image.name}"  # from this host, for the CSP
    shown["contents"]["hero"]["url"] = message.flex["contents"]["hero"]["url"]
    assert shown == message.flex
    assert "richmessages/flex.js" in page and "richmessages/rich_preview.js" in page
    assert 'data-flex-source="rich-flex-json"' in page
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_it_lists_messages_with_their_pictures(message, editor):
    page = signed_in(editor).get(MESSAGES).content.decode()

    assert f"/media/{message.image.name}" in page and "Hello" in page


def test_it_validates_with_line_from_the_message_page(message, editor, line):
    response = signed_in(editor).post(f"{MESSAGES}{message.pk}/validate/", follow=True)

    assert "LINE accepts this message." in response.content.decode()
    assert len(line.control.requests(endpoint="validatePush")) == 1


def test_it_says_what_line_refuses(message, editor, line):
    hero = {**message.flex["contents"]["hero"], "aspectRatio": "1:9"}
    RichMessage.objects.filter(pk=message.pk).update(
        flex={**message.flex, "contents": {**message.flex["contents"], "hero": hero}}
    )

    response = signed_in(editor).post(f"{MESSAGES}{message.pk}/validate/", follow=True)

    assert "LINE refuses it: messages[0].contents.hero.aspectRatio" in response.content.decode()


def test_it_sends_a_test_from_the_message_page(message, operator, line):
    line.control.add_user(FOLLOWER, "Ema", language="en")
    LineUser.objects.create(line_user_id=FOLLOWER, display_name="Ema")
    client = signed_in(operator)

    form = client.get(f"{MESSAGES}{message.pk}/test-send/")
    unknown = client.post(f"{MESSAGES}{message.pk}/test-send/", {"line_user_id": "U" + "1" * 32})
    sent = client.post(f"{MESSAGES}{message.pk}/test-send/", {"line_user_id": FOLLOWER}, follow=True)

    assert form.status_code == 200 and 'name="line_user_id"' in form.content.decode()
    assert "No LINE user has this id." in unknown.content.decode()
    assert "Sent to Ema" in sent.content.decode()
    assert line.control.messages(user_id=FOLLOWER)[0]["message"] == message.flex
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RICH_MESSAGE_TEST_SENT, actor=operator).count() == 1


def test_it_refuses_the_test_send_page_without_the_permission(message, analyst):
    assert signed_in(analyst).get(f"{MESSAGES}{message.pk}/test-send/").status_code == 403


def test_it_lets_nobody_change_or_delete_a_message(message, administrator):
    client = signed_in(administrator)

    page = client.get(f"{MESSAGES}{message.pk}/change/").content.decode()

    assert 'name="_save"' not in page
    assert client.post(f"{MESSAGES}{message.pk}/delete/").status_code == 403


# --- the live preview of a template version -------------------------------------------------------
def test_it_previews_an_approved_version_with_curated_copy(make_template, editor):
    version = make_template(curated_copy={"ja": {"title": "おはよう", "body": "よい一日を"}}).approved_version

    response = signed_in(editor).post(f"{VERSIONS}{version.pk}/preview/", {"preview_language": "ja"})

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["body"], body["copy_source"]) == ("おはよう", "よい一日を", "curated")
    hero = body["flex"]["contents"]["hero"]
    assert hero["url"].startswith("data:image/jpeg;base64,")
    assert 0 < body["json_bytes"] <= body["max_bytes"] == 30_000
    assert [t["text"] for t in body["flex"]["contents"]["body"]["contents"]] == ["おはよう", "よい一日を"]


def test_it_previews_a_draft_as_its_form_stands(make_template, editor):
    version = make_template(approve=False).versions.get()
    form = {
        "title_max_chars": "12",
        "body_max_chars": "30",
        "buttons": ["like"],
        "title_x": "60",
        "title_y": "60",
        "title_width": "1080",
        "title_height": "200",
        "preview_language": "en",
    }

    body = signed_in(editor).post(f"{VERSIONS}{version.pk}/preview/", form).json()

    assert body["copy_source"] == "default" and len(body["title"]) <= 12
    assert [b["action"]["label"] for b in body["flex"]["contents"]["footer"]["contents"][0]["contents"]] == ["Like"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"title_x": "1100", "title_y": "0", "title_width": "400", "title_height": "100"}, "title_area"),
        ({"title_max_chars": "many"}, "title_max_chars"),
        ({"title_max_chars": "0"}, "title_max_chars"),
        ({"preview_language": "fr"}, "language"),
    ],
)
def test_it_names_what_stops_a_preview(make_template, editor, form, field):
    version = make_template(approve=False).versions.get()
    data = {"title_max_chars": "40", "body_max_chars": "160", "preview_language": "en", **form}

    response = signed_in(editor).post(f"{VERSIONS}{version.pk}/preview/", data)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_it_previews_only_on_post_for_a_known_version_someone_may_see(make_template, editor, analyst):
    version = make_template().approved_version

    assert signed_in(editor).get(f"{VERSIONS}{version.pk}/preview/").status_code == 405
    assert signed_in(editor).post(f"{VERSIONS}999999/preview/", {}).status_code == 404
    assert signed_in(analyst).post(f"{VERSIONS}{version.pk}/preview/", {}).status_code == 403


def test_it_puts_the_preview_on_the_version_page(make_template, editor):
    version = make_template(approve=False).versions.get()

    page = signed_in(editor).get(f"{VERSIONS}{version.pk}/change/").content.decode()

    assert f'data-preview-url="{VERSIONS}{version.pk}/preview/"' in page
    assert "richmessages/flex.js" in page and "richmessages/flex.css" in page
