"""Building a rich message: approved version, limits, AI copy, content-addressed image, the Flex message, audit."""

import io

import pytest
from PIL import Image

from accounts.models import AuditEvent
from core.errors import ConflictError, PermissionDeniedError, ValidationError
from linesim.llm.replies import SAMPLE_TEXTS
from richmessages import hosting, services
from richmessages.message_services import rich_message_build
from richmessages.models import RichMessage, RichTemplateVersion
from tests.richmessages.conftest import stored_files

pytestmark = pytest.mark.django_db

Source = RichMessage.CopySource


def build(template, editor, **fields):
    return rich_message_build(
        template=template,
        **{"language": "en", "title": "Good morning", "body": "A fresh start.", **fields},
        actor=editor,
    )


def test_it_builds_a_message_from_the_approved_version_with_the_copy_given(make_template, editor, media_root):
    template = make_template()

    message = build(template, editor)

    assert message.template_version == template.approved_version
    assert (message.title, message.body, message.copy_source, message.language) == (
        "Good morning",
        "A fresh start.",
        Source.GIVEN,
        "en",
    )
    assert message.image.name == f"rich/composed/{message.image_sha256}.jpg"
    assert (media_root / message.image.name).read_bytes()[:3] == b"\xff\xd8\xff"


def test_it_builds_the_flex_message_around_the_stored_image(make_template, editor):
    message = build(make_template(), editor)

    contents = message.flex["contents"]
    image = Image.open(io.BytesIO(message.image.open("rb").read()))
    assert message.flex["type"] == "flex" and message.flex["altText"] == "Good morning"
    assert contents["hero"]["url"] == hosting.public_url(message.image.name)
    assert contents["hero"]["url"].startswith("https://bot.example.com/media/rich/composed/")
    assert contents["hero"]["aspectRatio"] == f"{image.width}:{image.height}"
    assert [t["text"] for t in contents["body"]["contents"]] == ["Good morning", "A fresh start."]
    data = [
        b["action"]["data"] for b in [contents["footer"]["contents"][0], *contents["footer"]["contents"][1]["contents"]]
    ]
    assert data == [f"action=rich&m={message.code}&b={b}" for b in ("more", "like", "save", "share")]


def test_it_shares_one_file_and_url_between_identical_messages(make_template, editor, media_root):
    template = make_template()

    first, second = build(template, editor), build(template, editor)

    assert first.pk != second.pk and first.code != second.code
    assert first.image.name == second.image.name
    assert first.flex["contents"]["hero"]["url"] == second.flex["contents"]["hero"]["url"]
    assert len([f for f in stored_files(media_root) if f.startswith("rich/composed/")]) == 1


def test_it_gives_a_changed_message_a_new_file_and_url_and_keeps_the_old_one(make_template, editor, media_root):
    template = make_template()
    first = build(template, editor)
    before = (media_root / first.image.name).read_bytes()

    changed = build(template, editor, title="Good evening")

    assert changed.image.name != first.image.name
    assert changed.flex["contents"]["hero"]["url"] != first.flex["contents"]["hero"]["url"]
    assert (media_root / first.image.name).read_bytes() == before


def test_it_has_the_ai_write_thai_copy_when_none_is_given(make_template, editor, llm):
    message = build(make_template(), editor, language="th", title=None, body=None, brief={"theme": "rainy season"})

    assert (message.title, message.body) == SAMPLE_TEXTS["th"]
    assert message.copy_source == Source.AI
    assert message.brief == {"theme": "rainy season"}
    assert "rainy season" in llm.control.requests()[0]["body"]["messages"][1]["content"]


def test_it_keeps_a_given_title_and_has_the_ai_write_the_body(make_template, editor, llm):
    message = build(make_template(), editor, title="Rain", body=None)

    assert (message.title, message.body, message.copy_source) == ("Rain", SAMPLE_TEXTS["en"][1], Source.AI)


def test_it_builds_with_curated_copy_while_the_ai_is_down(make_template, editor, llm):
    llm.control.add_fault("500")
    template = make_template(curated_copy={"th": {"title": "ฝนตก", "body": "พกร่มด้วยนะ"}})

    message = build(template, editor, language="th", title=None, body=None)

    assert (message.title, message.body, message.copy_source) == ("ฝนตก", "พกร่มด้วยนะ", Source.CURATED)


def test_it_records_the_build_in_the_audit_log(make_template, editor):
    message = build(make_template(), editor)

    event = AuditEvent.objects.get(action=AuditEvent.Action.RICH_MESSAGE_BUILT)
    assert (event.actor, event.target) == (editor, f"rich_message:{message.pk}")
    assert event.details["code"] == message.code and event.details["copy_source"] == "given"


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"title": "x" * 41}, "title", "is 41 characters long; the template allows at most 40"),
        ({"body": "ก" * 161}, "body", "at most 160"),
        ({"title": 42}, "title", "must be text"),
        ({"body": ["a"]}, "body", "must be text"),
        ({"title": "   "}, "title", "must not be empty"),
        ({"title": "bad\x00"}, "title", "must be text"),
        ({"language": "fr"}, "language", "must be one of"),
        ({"brief": "a string"}, "brief", "must be an object"),
        ({"brief": {"theme": "x" * 201}}, "brief.theme", "at most 200"),
        ({"brief": {"mood": "calm"}}, "brief", "unknown key"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_stores_nothing(
    make_template, editor, media_root, fields, field, says
):
    template = make_template()
    files = stored_files(media_root)

    with pytest.raises(ValidationError) as raised:
        build(template, editor, **fields)

    assert any(says in message for message in raised.value.details[field])
    assert RichMessage.objects.count() == 0
    assert stored_files(media_root) == files


def test_it_counts_the_limits_as_readers_see_characters(make_template, editor):
    title = "น้ำ" * 40  # 120 code points, 40 graphemes

    message = build(make_template(), editor, language="th", title=title)

    assert message.title == title


def test_it_refuses_a_template_without_an_approved_version(make_template, editor):
    template = make_template(approve=False)

    with pytest.raises(ConflictError, match="no approved version"):
        build(template, editor)


def test_it_refuses_an_archived_template(make_template, editor):
    template = make_template()
    services.rich_template_archive(template=template, actor=editor)

    with pytest.raises(ConflictError, match="archived"):
        build(template, editor)


def test_it_refuses_a_version_whose_box_lies_outside_the_image(make_template, editor, media_root):
    template = make_template()
    RichTemplateVersion.objects.filter(pk=template.approved_version.pk).update(
        title_area={"x": 1000, "y": 0, "width": 400, "height": 100, "font_min": 12, "font_max": 40, "color": "#FFFFFF"}
    )

    with pytest.raises(ValidationError) as raised:
        build(template, editor)

    assert "title_area.width" in raised.value.details
    assert "outside" in raised.value.details["title_area.width"][0]
    assert not [f for f in stored_files(media_root) if f.startswith("rich/composed/")]


def test_it_refuses_someone_who_may_not_build(make_template, analyst):
    with pytest.raises(PermissionDeniedError):
        build(make_template(), analyst)
