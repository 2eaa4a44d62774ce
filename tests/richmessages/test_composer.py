"""Composing hero images: text in its areas, LINE's size limits, the same bytes for the same inputs."""

import functools
import hashlib
import io
import random
import subprocess
import sys

import pytest
from django.conf import settings
from PIL import Image, ImageChops, ImageCms

from core.errors import ValidationError
from richmessages import fonts
from richmessages.composer import MAX_BYTES, background_cache, compose, text_box, warm_up
from richmessages.layout import TextArea

TITLE = "สวัสดีตอนเช้า วันใหม่ที่สดใส"
BODY = "วันนี้อากาศดีมากเหมาะสำหรับการออกไปเดินเล่นในสวนสาธารณะกับครอบครัวและเพื่อนๆ ของคุณ อย่าลืมดื่มน้ำให้เพียงพอและพักผ่อนให้เต็มที่นะครับ"
SIZE = (2500, 1686)


@pytest.fixture(autouse=True)
def _cold_backgrounds():
    background_cache.clear()
    yield
    background_cache.clear()


def areas(size=SIZE, **changes):
    """A title and a body area for a background of ``size``; a change to None leaves that key out."""
    width, height = size
    removed = {key for key, value in changes.items() if value is None}
    changes = {key: value for key, value in changes.items() if value is not None}
    title = TextArea.from_dict(
        without(
            removed,
            {
                "x": width // 10,
                "y": height // 10,
                "width": width * 6 // 10,
                "height": height * 2 // 10,
                "font_min": max(8, height // 40),
                "font_max": max(8, height // 12),
                "color": "#FFFFFF",
                "line_height": 1.2,
                "stroke_width": 3,
                "stroke_color": "#202020",
                "shadow": True,
                **changes,
            },
        ),
        field="title_area",
        image_size=size,
    )
    body = TextArea.from_dict(
        without(
            removed,
            {
                "x": width // 10,
                "y": height * 4 // 10,
                "width": width * 8 // 10,
                "height": height * 5 // 10,
                "font_min": max(8, height // 60),
                "font_max": max(8, height // 20),
                "color": "#FFF8E0",
                "line_height": 1.5,
                "overlay_color": "#000000",
                "overlay_opacity": 0.4,
                **changes,
            },
        ),
        field="body_area",
        image_size=size,
    )
    return title, body


def without(keys, data):
    return {key: value for key, value in data.items() if key not in keys}


def photo(size=SIZE, *, seed=1, detail=4, mode="RGB"):
    """A deterministic busy picture: coarse random colour cells (detail = pixels per cell)."""
    width, height = size
    cells = (max(1, width // detail), max(1, height // detail))
    noise = random.Random(seed).randbytes(cells[0] * cells[1] * len(mode))
    return Image.frombytes(mode, cells, noise).resize(size, Image.Resampling.BILINEAR)


def encoded(image, format="JPEG", **options):
    output = io.BytesIO()
    image.save(output, format=format, **options)
    return output.getvalue()


def compose_on(background, size=SIZE, title=TITLE, body=BODY, **area_changes):
    title_area, body_area = areas(size, **area_changes)
    return compose(background=background, title_area=title_area, body_area=body_area, title=title, body=body)


def test_it_composes_a_jpeg_hero_image():
    result = compose_on(encoded(photo()))
    image = Image.open(io.BytesIO(result.data))

    assert (result.content_type, result.extension, image.format) == ("image/jpeg", "jpg", "JPEG")
    assert (result.width, result.height) == image.size == (1024, 691)
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.truncated is False


def test_it_gives_the_same_bytes_for_the_same_inputs():
    background = encoded(photo())

    first = compose_on(background)
    cached = compose_on(background)  # from the decoded-background cache
    background_cache.clear()
    again = compose_on(bytes(background))

    assert first.data == cached.data == again.data
    assert first.sha256 == cached.sha256 == again.sha256


def test_it_gives_the_same_bytes_in_a_fresh_process(tmp_path):
    background = tmp_path / "background.jpg"
    background.write_bytes(encoded(photo()))
    script = f"""
import django
django.setup()
from tests.richmessages.test_composer import compose_on
print(compose_on(open({str(background)!r}, "rb").read()).sha256)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == compose_on(background.read_bytes()).sha256


def test_it_changes_the_image_when_the_text_changes():
    background = encoded(photo())

    assert compose_on(background).sha256 != compose_on(background, title="สวัสดีตอนเย็น").sha256


def test_it_writes_no_metadata():
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x0132] = "2026:11:30 10:00:00"
    background = encoded(
        photo(),
        exif=exif,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        comment=b"made at noon",
    )

    image = Image.open(io.BytesIO(compose_on(background).data))

    assert not {"exif", "icc_profile", "comment", "dpi"} & set(image.info)
    assert not image.getexif()


def test_it_scales_a_large_background_to_at_most_1024_pixels_and_1_mb():
    large = (4000, 3000)
    # Detail at every output pixel: the hardest case for the JPEG size.
    background = encoded(photo(large, detail=1), quality=95)

    result = compose_on(background, size=large)

    assert (result.width, result.height) == (1024, 768)
    assert len(result.data) <= MAX_BYTES
    assert Image.open(io.BytesIO(result.data)).size == (1024, 768)


def test_it_scales_a_tall_background_by_its_longer_side():
    tall = (1200, 2400)

    result = compose_on(encoded(photo(tall)), size=tall)

    assert (result.width, result.height) == (512, 1024)


def test_it_keeps_a_small_background_at_its_size():
    small = (800, 540)

    result = compose_on(encoded(photo(small)), size=small)

    assert (result.width, result.height) == (800, 540)


def test_it_composes_on_a_png_background():
    result = compose_on(encoded(photo(), format="PNG"))

    assert result.content_type == "image/jpeg"
    assert (result.width, result.height) == (1024, 691)


def test_it_keeps_transparency_as_a_png_within_the_limits():
    background = photo((2000, 1000), detail=1, mode="RGBA")

    result = compose_on(encoded(background, format="PNG"), size=(2000, 1000))
    image = Image.open(io.BytesIO(result.data))

    assert (result.content_type, result.extension, image.format) == ("image/png", "png", "PNG")
    assert image.size == (1024, 512)
    assert len(result.data) <= MAX_BYTES
    assert image.convert("RGBA").getextrema()[3][0] < 255


def test_it_makes_a_jpeg_of_a_png_whose_alpha_is_all_opaque():
    background = Image.new("RGBA", (600, 400), (20, 40, 60, 255))

    result = compose_on(encoded(background, format="PNG"), size=(600, 400))

    assert result.content_type == "image/jpeg"


def test_it_turns_a_sideways_photo_upright_before_placing_the_areas():
    # Stored 400 wide and 200 high, to be shown turned a quarter (EXIF orientation 6): 200 wide, 400 high.
    exif = Image.Exif()
    exif[0x0112] = 6
    background = encoded(photo((400, 200)), exif=exif)

    result = compose_on(background, size=(200, 400))

    assert (result.width, result.height) == (200, 400)


def test_it_reports_truncated_text():
    result = compose_on(encoded(photo()), body=BODY * 30)

    assert result.truncated is True


@pytest.mark.parametrize(
    ("title", "body"),
    [
        (TITLE, BODY),
        ("Good morning, have a wonderful day!", "Take a walk in the park with your family. " * 3),
        ("おはようございます！", "今日は「いい天気」ですね。ちょっと出かけましょう！散歩は健康に良いです。" * 2),
        ("早上好！", "今天天气很好，我们一起去公园散步吧！（别忘了带水。）" * 2),
        ("สวัสดี Hello 你好", BODY * 6),  # the body is cut: truncated text stays inside too
    ],
)
def test_it_never_draws_text_outside_its_areas(title, body):
    # On a plain transparent background the image stays a lossless PNG: every pixel can be checked.
    size = (1000, 700)
    plain = (30, 60, 90, 128)
    background = encoded(Image.new("RGBA", size, plain), format="PNG")
    title_area, body_area = areas(size, overlay_color=None)

    result = compose(background=background, title_area=title_area, body_area=body_area, title=title, body=body)
    image = Image.open(io.BytesIO(result.data)).convert("RGBA")

    assert result.content_type == "image/png"
    difference = ImageChops.difference(image, Image.new("RGBA", size, plain)).split()
    changed = functools.reduce(ImageChops.lighter, difference)
    for area in (title_area, body_area):
        inside = changed.crop(area.box)
        assert inside.getbbox() is not None  # the text is there
        changed.paste(0, area.box)
    assert changed.getbbox() is None  # and nothing outside the boxes


def test_it_insets_the_text_from_the_edges_of_its_overlay():
    title_area, body_area = areas()

    inner = text_box(body_area)

    assert inner.x > body_area.x and inner.y > body_area.y
    assert inner.x + inner.width < body_area.x + body_area.width
    assert inner.y + inner.height < body_area.y + body_area.height
    assert text_box(title_area) == title_area  # no overlay, no inset


def test_it_tints_the_overlay_box():
    size = (800, 600)
    background = encoded(Image.new("RGB", size, (255, 255, 255)), format="PNG")
    title_area, body_area = areas(size)

    result = compose(background=background, title_area=title_area, body_area=body_area, title="", body="")
    image = Image.open(io.BytesIO(result.data))

    # A 40% black overlay on white: about 153 grey, the rest of the image untouched.
    corner = image.getpixel((body_area.x + 2, body_area.y + 2))
    assert all(abs(channel - 153) <= 4 for channel in corner)
    assert all(channel >= 250 for channel in image.getpixel((2, 2)))


@pytest.mark.parametrize(
    "background",
    [
        b"",
        b"not an image at all",
        encoded(photo((300, 200)))[:400],  # cut short
        encoded(photo((300, 200)), format="GIF"),  # an image, but not JPEG or PNG
        encoded(Image.new("1", (10000, 6000)), format="PNG"),  # 60 megapixels
    ],
    ids=["empty", "garbage", "truncated", "gif", "too-many-pixels"],
)
def test_it_refuses_a_background_that_is_not_a_usable_image(background):
    with pytest.raises(ValidationError) as raised:
        compose_on(background)

    assert list(raised.value.details) == ["background"]
    assert "background" in raised.value.message


def test_it_names_no_memory_address_when_refusing_a_background():
    with pytest.raises(ValidationError) as raised:
        compose_on(b"not an image at all")

    assert raised.value.message == "The background is not a usable JPEG or PNG image: cannot identify image file."


def test_it_does_not_embed_the_background_profile_in_a_png_whose_colours_it_converted():
    background = encoded(
        photo((600, 400), mode="RGBA"),
        format="PNG",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )

    image = Image.open(io.BytesIO(compose_on(background, size=(600, 400)).data))

    assert image.format == "PNG"
    assert "icc_profile" not in image.info


def test_it_refuses_areas_outside_the_background():
    smaller = (1000, 600)
    title_area, body_area = areas()  # made for 2500 x 1686

    with pytest.raises(ValidationError) as raised:
        compose(background=encoded(photo(smaller)), title_area=title_area, body_area=body_area, title="a", body="b")

    assert "title_area.width" in raised.value.details
    assert "body_area.height" in raised.value.details


def test_it_refuses_text_that_is_not_a_string():
    title_area, body_area = areas()

    with pytest.raises(ValidationError) as raised:
        compose(background=encoded(photo()), title_area=title_area, body_area=body_area, title=None, body="b")

    assert list(raised.value.details) == ["title"]


def test_it_resolves_the_fonts_before_the_first_composition_when_warming_up(monkeypatch):
    fonts.reset()
    warm_up()
    monkeypatch.setattr(fonts.subprocess, "run", lambda *args, **kwargs: pytest.fail("fonts resolved again"))

    assert compose_on(encoded(photo((600, 400))), size=(600, 400)).width == 600


@pytest.mark.parametrize(
    ("mode", "format", "content_type"),
    [
        ("L", "JPEG", "image/jpeg"),
        ("CMYK", "JPEG", "image/jpeg"),
        ("P", "PNG", "image/jpeg"),
        ("LA", "PNG", "image/png"),
        ("I;16", "PNG", "image/jpeg"),
    ],
)
def test_it_composes_on_backgrounds_of_every_common_colour_mode(mode, format, content_type):
    size = (600, 400)
    image = photo(size).convert(mode) if mode != "LA" else photo(size).convert("L").convert("LA")
    if mode == "LA":
        image.putalpha(200)

    result = compose_on(encoded(image, format=format), size=size)

    assert result.content_type == content_type
    assert (result.width, result.height) == size
