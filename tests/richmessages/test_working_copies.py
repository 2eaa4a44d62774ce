"""Working copies of large backgrounds: made at upload, composed on instead of the original, same image."""

import hashlib
import io
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from PIL import Image, ImageCms, PngImagePlugin

from core.errors import ConflictError, ValidationError
from richmessages import backgrounds, services
from richmessages.composer import (
    MAX_SIDE,
    WORKING_COPY_SIZE_KEY,
    UnusableWorkingCopy,
    background_cache,
    compose,
    working_copy,
)
from richmessages.layout import TextArea
from richmessages.template_images import compose_copy
from tests.richmessages.conftest import stored_files, upload
from tests.richmessages.test_composer import BODY, TITLE, areas, encoded, photo

LARGE = (1600, 1000)
AREAS = {
    "title_area": {"x": 100, "y": 80, "width": 1000, "height": 250, "overlay_color": "#203040", "shadow": True},
    "body_area": {"x": 100, "y": 400, "width": 1300, "height": 500, "stroke_width": 2, "stroke_color": "#000000"},
}


@pytest.fixture(autouse=True)
def _cold_backgrounds():
    background_cache.clear()
    yield
    background_cache.clear()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def sideways() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif


def recorded_size(value: str) -> PngImagePlugin.PngInfo:
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text(WORKING_COPY_SIZE_KEY, value)
    return chunks


def compose_both(background: bytes, size):
    """The image composed on ``background`` and on its working copy, each decoded afresh."""
    title_area, body_area = areas(size)
    texts = {"title_area": title_area, "body_area": body_area, "title": TITLE, "body": BODY}
    on_original = compose(background=background, **texts)
    copy = working_copy(background)
    background_cache.clear()
    return on_original, compose(background=copy, working_copy=True, **texts)


# --- the composer -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("background", "size", "content_type"),
    [
        pytest.param(lambda: encoded(photo((2500, 1686)), quality=92), (2500, 1686), "image/jpeg", id="jpeg"),
        pytest.param(lambda: encoded(photo((2500, 1686)), format="PNG"), (2500, 1686), "image/png", id="png"),
        pytest.param(
            lambda: encoded(photo((2000, 1000), mode="RGBA"), format="PNG"), (2000, 1000), "image/png", id="png-alpha"
        ),
        pytest.param(
            lambda: encoded(photo((2000, 1000), mode="RGBA"), format="PNG", icc_profile=profile()),
            (2000, 1000),
            "image/png",
            id="png-alpha-with-profile",
        ),
        pytest.param(
            lambda: encoded(photo((2400, 1200)), exif=sideways(), icc_profile=profile()),
            (1200, 2400),
            "image/jpeg",
            id="jpeg-sideways-with-profile",
        ),
    ],
)
def test_it_composes_the_same_bytes_on_the_working_copy_as_on_the_background(background, size, content_type):
    on_original, on_copy = compose_both(background(), size)

    assert on_copy.data == on_original.data
    assert (on_copy.width, on_copy.height) == (on_original.width, on_original.height)
    assert (
        Image.open(io.BytesIO(on_copy.data)).format
        == {"image/jpeg": "JPEG", "image/png": "PNG"}[on_original.content_type]
    )


def test_it_makes_a_working_copy_no_larger_than_the_composed_image_that_records_the_full_size():
    copy = Image.open(io.BytesIO(working_copy(encoded(photo((2500, 1686)), format="PNG"))))

    assert (copy.format, copy.size, copy.mode) == ("PNG", (1024, 691), "RGB")
    assert copy.info[WORKING_COPY_SIZE_KEY] == "2500x1686"
    assert not {"icc_profile", "exif"} & set(copy.info)


def test_it_makes_no_working_copy_of_a_background_no_larger_than_the_composed_image():
    assert working_copy(encoded(photo((MAX_SIDE, 600)), format="PNG")) is None


@pytest.mark.parametrize(
    "background",
    [b"", b"not an image at all", encoded(photo((1600, 1000)), format="PNG")[:5000]],
    ids=["empty", "text", "truncated-png"],
)
def test_it_refuses_a_bad_background_with_the_same_error_as_composing(background):
    title_area, body_area = areas((1600, 1000))
    with pytest.raises(ValidationError) as composing:
        compose(background=background, title_area=title_area, body_area=body_area, title=TITLE, body=BODY)
    with pytest.raises(ValidationError) as copying:
        working_copy(background)

    assert copying.value.message == composing.value.message
    assert copying.value.details == composing.value.details == {"background": [composing.value.message]}


@pytest.mark.parametrize(
    "background",
    [
        b"",
        b"not an image",
        encoded(photo((1024, 640)), format="PNG"),  # no recorded size
        encoded(photo((1024, 640)), format="JPEG"),
        encoded(photo((800, 500)), format="PNG"),
        encoded(photo((1024, 640)), format="PNG", pnginfo=recorded_size("0x0")),
        encoded(photo((1024, 640)), format="PNG", pnginfo=recorded_size("wide")),
    ],
    ids=["empty", "text", "png-without-size", "jpeg", "small-png", "zero-size", "unreadable-size"],
)
def test_it_refuses_as_a_working_copy_what_it_did_not_make(background):
    title_area, body_area = areas((1600, 1000))

    with pytest.raises(UnusableWorkingCopy):
        compose(
            background=background, working_copy=True, title_area=title_area, body_area=body_area, title=TITLE, body=BODY
        )


def test_it_refuses_a_working_copy_made_for_another_size():
    copy = Image.open(io.BytesIO(working_copy(encoded(photo((1600, 1000)), format="PNG"))))
    copy.info = {}
    title_area, body_area = areas((1600, 1000))

    with pytest.raises(UnusableWorkingCopy):
        compose(
            background=encoded(copy, format="PNG", pnginfo=recorded_size("3200x1000")),
            working_copy=True,
            title_area=title_area,
            body_area=body_area,
            title=TITLE,
            body=BODY,
        )


def test_it_decodes_a_working_copy_once_per_process():
    copy = working_copy(encoded(photo((1600, 1000)), format="PNG"))
    background_cache.clear()
    title_area, body_area = areas((1600, 1000))
    texts = {"title_area": title_area, "body_area": body_area, "title": TITLE, "body": BODY}

    first = compose(background=copy, working_copy=True, **texts)
    second = compose(background=copy, working_copy=True, **{**texts, "title": "อีกครั้ง"})

    assert list(background_cache._items) == [sha256(copy)]
    assert (first.width, first.height) == (second.width, second.height) == (1024, 640)


# --- storage and composing a template --------------------------------------------------------------
def large_background(seed=1, **options) -> bytes:
    return encoded(photo(LARGE, seed=seed), format="PNG", **options)


def create(author, data: bytes, *, name="Large", metadata=AREAS):
    return services.rich_template_create(
        name=name, metadata=metadata, author=author, image=upload("large.png", data=data)
    ).versions.get()


def composed_on_original(version, data: bytes) -> bytes:
    size = (version.width, version.height)
    title_area = TextArea.from_dict(version.title_area, field="title_area", image_size=size)
    body_area = TextArea.from_dict(version.body_area, field="body_area", image_size=size)
    background_cache.clear()
    result = compose(background=data, title_area=title_area, body_area=body_area, title=TITLE, body=BODY).data
    background_cache.clear()
    return result


@pytest.mark.django_db
def test_it_stores_a_working_copy_when_a_large_background_is_uploaded(editor, media_root):
    data = large_background()

    version = create(editor, data)

    digest = sha256(data)
    assert version.background.name == f"rich/backgrounds/{digest}.png"
    assert stored_files(media_root) == [f"rich/backgrounds/{digest}.png", f"rich/working/{digest}.png"]
    assert (media_root / f"rich/working/{digest}.png").read_bytes() == working_copy(data)


@pytest.mark.django_db
def test_it_shares_one_working_copy_between_identical_uploads(editor, media_root):
    data = large_background()

    create(editor, data)
    create(editor, data, name="Large again")

    assert len(stored_files(media_root)) == 2


@pytest.mark.django_db
def test_it_stores_the_working_copy_of_a_new_background_of_a_draft(editor, media_root):
    version = create(editor, large_background())
    data = large_background(seed=2)

    services.rich_template_version_update(version=version, changes={"image": upload(data=data)}, actor=editor)

    assert f"rich/working/{sha256(data)}.png" in stored_files(media_root)
    assert len(stored_files(media_root)) == 4


@pytest.mark.django_db
def test_it_removes_the_working_copy_it_stored_when_the_background_is_not_used(media_root):
    image = backgrounds.as_file(upload(data=large_background()))

    backgrounds.discard(backgrounds.store(image, backgrounds.inspect(image)))

    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_it_keeps_a_shared_working_copy_when_a_second_upload_is_not_used(media_root):
    data = large_background()
    first = backgrounds.as_file(upload(data=data))
    backgrounds.store(first, backgrounds.inspect(first))
    second = backgrounds.as_file(upload(data=data))

    backgrounds.discard(backgrounds.store(second, backgrounds.inspect(second)))

    assert len(stored_files(media_root)) == 2


@pytest.mark.django_db
def test_it_composes_a_template_without_reading_its_original_background(editor, media_root):
    data = large_background()
    version = create(editor, data)
    expected = composed_on_original(version, data)
    default_storage.delete(version.background.name)

    result = compose_copy(version, title=TITLE, body=BODY)

    assert result.data == expected


@pytest.mark.django_db
def test_it_composes_a_template_on_its_original_when_it_has_no_working_copy(editor, media_root):
    data = large_background()
    version = create(editor, data)
    default_storage.delete(backgrounds.working_copy_name(version.background_sha256))

    result = compose_copy(version, title=TITLE, body=BODY)

    assert result.data == composed_on_original(version, data)


@pytest.mark.django_db
def test_it_composes_a_template_on_its_original_when_its_working_copy_is_unusable(editor, media_root):
    data = large_background()
    version = create(editor, data)
    name = backgrounds.working_copy_name(version.background_sha256)
    default_storage.delete(name)
    default_storage.save(name, ContentFile(encoded(photo((1024, 640)), format="PNG")))

    result = compose_copy(version, title=TITLE, body=BODY)

    assert result.data == composed_on_original(version, data)


@pytest.mark.django_db
def test_it_reports_a_background_missing_from_storage_with_or_without_a_working_copy(editor, media_root):
    version = create(editor, large_background())
    default_storage.delete(version.background.name)
    default_storage.delete(backgrounds.working_copy_name(version.background_sha256))

    with pytest.raises(ConflictError, match="missing from storage"):
        compose_copy(version, title=TITLE, body=BODY)


@pytest.mark.django_db
def test_it_makes_missing_working_copies_with_the_management_command(editor, media_root):
    data = large_background()
    version = create(editor, data)
    create(editor, encoded(photo((600, 400)), format="PNG"), name="Small", metadata={})
    name = backgrounds.working_copy_name(version.background_sha256)
    default_storage.delete(name)
    output = StringIO()

    call_command("rich_background_working_copies", stdout=output)
    again = StringIO()
    call_command("rich_background_working_copies", stdout=again)

    assert (media_root / name).read_bytes() == working_copy(data)
    assert output.getvalue().startswith("Made 1 working copies; 0 were there, 1 backgrounds need none;")
    assert again.getvalue().startswith("Made 0 working copies; 1 were there, 1 backgrounds need none;")


@pytest.mark.django_db
def test_it_reports_a_missing_or_changed_background_from_the_management_command(editor, media_root):
    missing = create(editor, large_background(seed=1))
    changed = create(editor, large_background(seed=2), name="Changed")
    for version in (missing, changed):
        default_storage.delete(backgrounds.working_copy_name(version.background_sha256))
    default_storage.delete(missing.background.name)
    (media_root / changed.background.name).write_bytes(large_background(seed=3))
    errors = StringIO()

    call_command("rich_background_working_copies", stdout=StringIO(), stderr=errors)

    assert sorted(errors.getvalue().split()) == sorted(
        ["missing", missing.background.name, "changed", changed.background.name]
    )
    assert not [file for file in stored_files(media_root) if file.startswith("rich/working/")]


class FullForWorkingCopies(FileSystemStorage):
    """A storage that takes backgrounds but fails to write a working copy, as a full or broken disk would."""

    def _save(self, name, content):
        if name.startswith(backgrounds.WORKING_DIRECTORY):
            raise OSError("No space left on device")
        return super()._save(name, content)


@pytest.mark.django_db
def test_it_leaves_no_background_behind_when_its_working_copy_cannot_be_stored(editor, media_root, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.FullForWorkingCopies", "OPTIONS": {"location": str(media_root)}},
    }

    with pytest.raises(OSError, match="No space left"):
        create(editor, large_background())

    assert stored_files(media_root) == []
