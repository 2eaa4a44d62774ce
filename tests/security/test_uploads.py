"""Uploads are judged by their content, not their name, and oversized files never reach a view."""

import io

import pytest
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from PIL import Image

from core.uploads import validate_image


def _image_bytes(fmt: str, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_it_accepts_a_png_and_reports_its_size():
    upload = SimpleUploadedFile("menu.png", _image_bytes("PNG"), content_type="image/png")
    assert validate_image(upload, max_bytes=1_000_000) == ("PNG", 40, 30)
    assert upload.tell() == 0


def test_it_judges_by_content_not_by_name():
    upload = SimpleUploadedFile("photo.png", _image_bytes("JPEG"), content_type="image/png")
    assert validate_image(upload, max_bytes=1_000_000)[0] == "JPEG"


def test_it_refuses_a_text_file_named_like_an_image():
    upload = SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>", content_type="image/png")
    with pytest.raises(ValidationError, match="not an image we can read"):
        validate_image(upload, max_bytes=1_000_000)


def test_it_refuses_an_image_format_that_is_not_allowed():
    upload = SimpleUploadedFile("anim.png", _image_bytes("GIF"), content_type="image/png")
    with pytest.raises(ValidationError, match="The image is GIF; only JPEG, PNG images are accepted"):
        validate_image(upload, max_bytes=1_000_000)


def test_it_refuses_a_file_over_the_size_limit():
    data = _image_bytes("PNG")
    upload = SimpleUploadedFile("big.png", data)
    with pytest.raises(ValidationError, match=f"The file is {len(data)} bytes; at most 100 bytes"):
        validate_image(upload, max_bytes=100)


def test_it_refuses_an_empty_file():
    with pytest.raises(ValidationError, match="empty"):
        validate_image(SimpleUploadedFile("empty.png", b""), max_bytes=100)


def test_it_refuses_a_truncated_image():
    data = _image_bytes("PNG", size=(300, 300))
    with pytest.raises(ValidationError):
        validate_image(SimpleUploadedFile("cut.png", data[: len(data) // 2]), max_bytes=1_000_000)


def test_it_refuses_an_image_with_too_many_pixels():
    upload = SimpleUploadedFile("wide.png", _image_bytes("PNG", size=(2000, 1000)))
    with pytest.raises(ValidationError, match="2000x1000 pixels; at most 1000000 pixels"):
        validate_image(upload, max_bytes=10_000_000, max_pixels=1_000_000)


def test_it_drops_uploads_over_the_limit_while_streaming(settings):
    settings.UPLOAD_MAX_BYTES = 1000
    request = RequestFactory().post(
        "/upload",
        {
            "small": SimpleUploadedFile("small.png", b"x" * 500),
            "large": SimpleUploadedFile("large.png", b"x" * 5000),
        },
    )
    assert "large" not in request.FILES


def test_it_keeps_uploads_within_the_limit_whole(settings):
    settings.UPLOAD_MAX_BYTES = 10_000
    request = RequestFactory().post("/upload", {"file": SimpleUploadedFile("ok.png", b"x" * 5000)})
    assert request.FILES["file"].read() == b"x" * 5000


def test_it_refuses_a_form_body_over_one_mebibyte():
    request = RequestFactory().post("/upload", {"text": "x" * (1024 * 1024 + 1)})
    with pytest.raises(RequestDataTooBig):
        request.POST  # noqa: B018 - parsing is what refuses it
