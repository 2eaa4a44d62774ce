import hashlib
import json

import pytest

from accounts.models import AuditEvent
from core.errors import ConflictError, PermissionDeniedError, ValidationError
from richmessages import services
from richmessages.models import RichMessage, RichTemplate, RichTemplateVersion
from tests.richmessages.conftest import image_bytes, stored_files, upload

pytestmark = pytest.mark.django_db

AREAS = {
    "title_area": {"x": 20, "y": 20, "width": 400, "height": 100},
    "body_area": {"x": 20, "y": 200, "width": 500, "height": 150},
}


def create(author, *, name="Morning run", metadata=None, **kwargs):
    kwargs.setdefault("image", upload())
    return services.rich_template_create(
        name=name, metadata=AREAS if metadata is None else metadata, author=author, **kwargs
    )


def test_it_creates_a_template_whose_version_1_is_a_draft(editor, media_root):
    data = image_bytes()
    template = create(editor, image=upload(data=data), metadata={**AREAS, "theme": "motivation", "buttons": ["like"]})

    version = template.versions.get()
    digest = hashlib.sha256(data).hexdigest()
    assert (template.name, template.slug, template.created_by) == ("Morning run", "morning-run", editor)
    assert (version.number, version.status, version.author) == (1, "draft", editor)
    assert (version.width, version.height, version.theme, version.buttons) == (600, 400, "motivation", ["like"])
    assert version.background.name == f"rich/backgrounds/{digest}.png"
    assert version.background_sha256 == digest
    assert stored_files(media_root) == [f"rich/backgrounds/{digest}.png"]
    assert (media_root / version.background.name).read_bytes() == data
    event = AuditEvent.objects.get(action=AuditEvent.Action.RICH_TEMPLATE_CREATED)
    assert (event.actor, event.target, event.details["version"]) == (editor, f"rich_template:{template.pk}", 1)


def test_it_completes_the_text_areas_with_font_defaults(editor):
    version = create(editor).versions.get()

    assert version.title_area["x"] == 20
    assert version.title_area["font_min"] <= version.title_area["font_max"] <= 100
    assert version.title_area["color"] == "#FFFFFF"
    assert set(version.body_area) >= {"font_min", "font_max", "color", "line_height"}


def test_it_gives_default_areas_inside_the_image_when_none_are_given(editor):
    version = create(editor, metadata={}).versions.get()

    for area in (version.title_area, version.body_area):
        assert area["x"] + area["width"] <= 600 and area["y"] + area["height"] <= 400


def test_it_reads_metadata_in_the_upstream_shape(editor):
    entry = {
        "theme": "inspiration",
        "mood": "creative",
        "energy_level": "medium",
        "best_for": ["creativity"],
        "time_of_day": ["afternoon", "evening"],
        "content_type": ["motivational_quotes"],
        "text_areas": {
            "primary": {"x": 10, "y": 15, "width": 500, "height": 90},
            "secondary": {"x": 30, "y": 250, "width": 400, "height": 60},
        },
    }

    version = create(editor, metadata=json.dumps(entry)).versions.get()

    assert version.times_of_day == ["afternoon", "evening"]
    assert (version.title_area["y"], version.body_area["y"]) == (15, 250)
    assert version.best_for == ["creativity"]


def test_it_makes_a_slug_for_a_name_without_latin_letters(editor):
    template = create(editor, name="แรงบันดาลใจยามเช้า")

    assert template.slug == "template"
    assert create(editor, name="朝のやる気", image=upload(color=(1, 2, 3))).slug == "template-2"


def test_it_numbers_a_slug_made_from_a_taken_name(editor):
    create(editor)

    assert create(editor, image=upload(color=(9, 9, 9))).slug == "morning-run-2"


def test_it_refuses_a_taken_slug_that_was_asked_for(editor, media_root):
    create(editor, slug="run")
    files = stored_files(media_root)

    with pytest.raises(ValidationError) as caught:
        create(editor, slug="run", image=upload(color=(9, 9, 9)))

    assert "slug" in caught.value.details
    assert stored_files(media_root) == files
    assert RichTemplate.objects.count() == 1


def test_it_shares_one_file_between_identical_uploads(editor, media_root):
    first = create(editor).versions.get()
    second = create(editor, name="Evening run").versions.get()

    assert first.background.name == second.background.name
    assert len(stored_files(media_root)) == 1


def test_it_judges_the_image_by_its_content_not_its_name(editor):
    version = create(editor, image=upload("photo.png", data=image_bytes("JPEG"))).versions.get()

    assert version.background.name.endswith(".jpg")


def _big_png() -> bytes:
    # A valid PNG padded past 10 MB: the size is refused before the image is decoded.
    return image_bytes() + b"\0" * (10 * 1024 * 1024)


BAD_UPLOADS = {
    "gif": (lambda: upload("a.png", data=image_bytes("GIF")), "image", "GIF"),
    "text named png": (lambda: upload("a.png", data=b"just some text, not an image"), "image", "not an image"),
    "empty": (lambda: upload("a.png", data=b""), "image", "empty"),
    "truncated": (lambda: upload("a.png", data=image_bytes()[:200]), "image", "damaged"),
    "too many bytes": (lambda: upload("a.png", data=_big_png()), "image", "at most 10485760 bytes"),
    "too small": (lambda: upload(size=(239, 400)), "image", "from 240 to 4096"),
    "too wide": (lambda: upload(size=(4097, 300)), "image", "from 240 to 4096"),
    "missing": (lambda: None, "image", "required"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_it_names_the_field_of_a_bad_upload_and_stores_nothing(editor, media_root, case):
    make_image, field, words = BAD_UPLOADS[case]

    with pytest.raises(ValidationError) as caught:
        create(editor, image=make_image())

    assert field in caught.value.details
    assert words in " ".join(caught.value.details[field])
    assert caught.value.message.startswith(f"{field}: ")
    assert stored_files(media_root) == []
    assert (RichTemplate.objects.count(), RichTemplateVersion.objects.count()) == (0, 0)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RICH_TEMPLATE_CREATED).exists()


BAD_METADATA = {
    "box outside the image": (
        {"title_area": {"x": 300, "y": 0, "width": 400, "height": 50}},
        "title_area",
        "lies outside",
    ),
    "negative box": ({"body_area": {"x": -1, "y": 0, "width": 40, "height": 50}}, "body_area", "at least 0"),
    "area not an object": ({"title_area": [1, 2, 3, 4]}, "title_area", "must be an object"),
    "box value not a number": ({"title_area": {"x": "1", "y": 0, "width": 4, "height": 5}}, "title_area", "x must"),
    "font sizes swapped": (
        {"title_area": {"x": 0, "y": 0, "width": 40, "height": 50, "font_min": 40, "font_max": 20}},
        "title_area",
        "font_min",
    ),
    "bad colour": (
        {"title_area": {"x": 0, "y": 0, "width": 40, "height": 50, "color": "white"}},
        "title_area",
        "colour",
    ),
    "unknown area key": (
        {"body_area": {"x": 0, "y": 0, "width": 4, "height": 5, "font": 3}},
        "body_area",
        "not a known key",
    ),
    "unknown button": ({"buttons": ["like", "buy"]}, "buttons", "buy"),
    "button twice": ({"buttons": ["like", "like"]}, "buttons", "once"),
    "unknown field": ({"colour": "red"}, "metadata", "colour"),
    "theme with NUL": ({"theme": "a\x00b"}, "theme", "cannot be stored"),
    "too long a tag": ({"best_for": ["x" * 65]}, "best_for", "64"),
    "tags not a list": ({"times_of_day": "morning"}, "times_of_day", "list"),
    "title limit out of range": ({"title_max_chars": 0}, "title_max_chars", "from 1"),
    "copy longer than the limit": (
        {"title_max_chars": 5, "curated_copy": {"th": {"title": "สวัสดีตอนเช้า"}}},
        "curated_copy",
        "longer than 5",
    ),
    "copy of a bad language": ({"curated_copy": {"Thai!": {"title": "x"}}}, "curated_copy", "language code"),
    "not JSON": ("{theme: motivation", "metadata", "not valid JSON"),
    "JSON but not an object": ("[1, 2]", "metadata", "object"),
    "upstream without areas object": ('{"text_areas": [1]}', "text_areas", "primary"),
}


@pytest.mark.parametrize("case", BAD_METADATA, ids=list(BAD_METADATA))
def test_it_names_the_field_of_bad_metadata_and_stores_nothing(editor, media_root, case):
    given, field, words = BAD_METADATA[case]

    with pytest.raises(ValidationError) as caught:
        create(editor, metadata=given)

    assert words in " ".join(caught.value.details[field]), caught.value.details
    assert stored_files(media_root) == []
    assert RichTemplate.objects.count() == 0


def test_it_refuses_a_name_that_is_blank(editor, media_root):
    with pytest.raises(ValidationError) as caught:
        create(editor, name="   ", image=upload("a.png", data=b"junk"))

    assert set(caught.value.details) == {"name", "image"}
    assert stored_files(media_root) == []


def test_it_counts_thai_copy_as_a_reader_sees_it(editor):
    # 13 code points, of which 3 are vowel and tone marks drawn over or under a letter.
    copy = {"th": {"title": "สวัสดีตอนเช้า"}}

    version = create(editor, metadata={"title_max_chars": 11, "curated_copy": copy}).versions.get()

    assert version.curated_copy == copy


def test_it_lets_only_an_editor_or_administrator_create_templates(operator, media_root):
    with pytest.raises(PermissionDeniedError):
        create(operator)

    assert stored_files(media_root) == []


# --- Editing ---------------------------------------------------------------------------


def _approved(editor, operator):
    version = create(editor).versions.get()
    return services.rich_template_approve(version=version, approver=operator)


def test_it_edits_a_draft_in_place(editor):
    version = create(editor).versions.get()

    updated = services.rich_template_version_update(version=version, changes={"mood": "calm"}, actor=editor)

    assert updated.pk == version.pk
    assert RichTemplateVersion.objects.get().mood == "calm"
    event = AuditEvent.objects.get(action=AuditEvent.Action.RICH_TEMPLATE_UPDATED)
    assert event.details["changed"] == ["mood"]


def test_it_does_not_record_an_edit_that_changes_nothing(editor):
    version = create(editor, metadata={**AREAS, "mood": "calm"}).versions.get()

    services.rich_template_version_update(version=version, changes={"mood": "calm"}, actor=editor)

    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RICH_TEMPLATE_UPDATED).exists()


def test_it_makes_a_new_draft_when_editing_an_approved_version_and_leaves_what_was_built_alone(editor, operator):
    approved = _approved(editor, operator)
    message = RichMessage.objects.create(
        template_version=approved,
        language="th",
        title="t",
        body="b",
        copy_source=RichMessage.CopySource.GIVEN,
        image="rich/composed/" + "0" * 64 + ".jpg",
        image_sha256="0" * 64,
        flex={},
    )

    draft = services.rich_template_version_update(version=approved, changes={"theme": "calm"}, actor=editor)

    approved.refresh_from_db()
    message.refresh_from_db()
    assert (draft.number, draft.status, draft.theme, draft.author) == (2, "draft", "calm", editor)
    assert draft.title_area == approved.title_area and draft.background == approved.background
    assert (approved.status, approved.theme) == ("approved", "")
    assert message.template_version == approved
    assert approved.template.approved_version == approved


def test_it_numbers_a_new_draft_after_the_newest_version(editor, operator):
    approved = _approved(editor, operator)
    services.rich_template_version_update(version=approved, changes={"mood": "a"}, actor=editor)

    third = services.rich_template_version_update(version=approved, changes={"mood": "b"}, actor=editor)

    assert third.number == 3


def test_it_checks_a_new_image_against_the_text_areas(editor, media_root):
    version = create(editor).versions.get()
    files = stored_files(media_root)

    with pytest.raises(ValidationError) as caught:
        services.rich_template_version_update(version=version, changes={"image": upload(size=(300, 300))}, actor=editor)

    assert "body_area" in caught.value.details
    assert stored_files(media_root) == files


def test_it_replaces_the_background_of_a_draft_with_a_new_image(editor, media_root):
    version = create(editor).versions.get()
    data = image_bytes(size=(800, 500), color=(1, 1, 1))

    updated = services.rich_template_version_update(version=version, changes={"image": upload(data=data)}, actor=editor)

    assert (updated.width, updated.height) == (800, 500)
    assert updated.background_sha256 == hashlib.sha256(data).hexdigest()
    assert len(stored_files(media_root)) == 2


def test_it_changes_nothing_on_a_bad_edit(editor):
    version = create(editor).versions.get()

    with pytest.raises(ValidationError) as caught:
        services.rich_template_version_update(version=version, changes={"buttons": ["buy"], "mood": "x"}, actor=editor)

    assert "buttons" in caught.value.details
    assert RichTemplateVersion.objects.get().mood == ""


def test_it_refuses_an_unknown_change(editor):
    version = create(editor).versions.get()

    with pytest.raises(ValidationError) as caught:
        services.rich_template_version_update(version=version, changes={"status": "approved"}, actor=editor)

    assert "changes" in caught.value.details


def test_it_refuses_an_operator_editing(editor, operator):
    version = create(editor).versions.get()

    with pytest.raises(PermissionDeniedError):
        services.rich_template_version_update(version=version, changes={"mood": "x"}, actor=operator)


# --- Approving ---------------------------------------------------------------------------


def test_it_lets_an_operator_approve_a_draft(editor, operator):
    version = _approved(editor, operator)

    assert (version.status, version.approved_by) == ("approved", operator)
    assert version.approved_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.RICH_TEMPLATE_APPROVED)
    assert (event.actor, event.details["version"], event.details["author"]) == (operator, 1, "editor")


def test_it_archives_the_previous_version_when_approving_a_new_one(editor, operator):
    first = _approved(editor, operator)
    second = services.rich_template_version_update(version=first, changes={"mood": "b"}, actor=editor)

    services.rich_template_approve(version=second, approver=operator)

    statuses = dict(RichTemplateVersion.objects.values_list("number", "status"))
    assert statuses == {1: "archived", 2: "approved"}


def test_it_lets_nobody_approve_their_own_version(administrator, media_root):
    version = create(administrator).versions.get()

    with pytest.raises(PermissionDeniedError, match="someone else"):
        services.rich_template_approve(version=version, approver=administrator)

    assert RichTemplateVersion.objects.get().status == "draft"


def test_it_refuses_an_editor_approving(editor, second_editor):
    version = create(editor).versions.get()

    with pytest.raises(PermissionDeniedError):
        services.rich_template_approve(version=version, approver=second_editor)


def test_it_approves_only_a_draft(editor, operator, administrator):
    approved = _approved(editor, operator)

    with pytest.raises(ConflictError):
        services.rich_template_approve(version=approved, approver=administrator)


# --- Archiving ---------------------------------------------------------------------------


def test_it_takes_a_template_out_of_use_when_archiving(editor, operator):
    approved = _approved(editor, operator)
    services.rich_template_version_update(version=approved, changes={"mood": "b"}, actor=editor)

    template = services.rich_template_archive(template=approved.template, actor=operator)

    assert template.archived_at is not None
    assert set(template.versions.values_list("status", flat=True)) == {"archived"}
    assert template.approved_version is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.RICH_TEMPLATE_ARCHIVED)
    assert event.details["archived_versions"] == [1, 2]


def test_it_neither_edits_nor_approves_an_archived_template(editor, operator):
    version = create(editor).versions.get()
    services.rich_template_archive(template=version.template, actor=editor)

    with pytest.raises(ConflictError):
        services.rich_template_version_update(version=version, changes={"mood": "x"}, actor=editor)
    with pytest.raises(ConflictError):
        services.rich_template_approve(version=version, approver=operator)


def test_it_changes_nothing_when_archiving_twice(editor):
    template = create(editor)
    first = services.rich_template_archive(template=template, actor=editor).archived_at

    assert services.rich_template_archive(template=template, actor=editor).archived_at == first
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RICH_TEMPLATE_ARCHIVED).count() == 1


def test_it_refuses_an_analyst_archiving(editor, analyst):
    template = create(editor)

    with pytest.raises(PermissionDeniedError):
        services.rich_template_archive(template=template, actor=analyst)
