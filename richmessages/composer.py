"""Composing the hero image of a rich message: a template's background with the title and body drawn on it.

::

    image = compose(background=data, title_area=title_area, body_area=body_area, title=title, body=body)
    image.data, image.content_type, image.sha256, image.truncated

The background is scaled first so its longer side is at most 1024 px, and the areas with it; each text is fitted
into its area (richmessages.text_layout), over an optional tinted overlay, with an optional outline and drop
shadow so it stays readable on any background. The result is a JPEG (a PNG only when the background has
transparency) of at most 1024 x 1024 px and 1 MB, as LINE takes for a Flex hero image, and the same inputs always
give the same bytes: no metadata, no timestamps, fixed encoder settings.

``working_copy(data)`` is a large background already scaled as composing scales it (made once, at upload);
``compose(background=copy, working_copy=True, ...)`` gives the same bytes without decoding the large original.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace

from PIL import Image, ImageCms, ImageFilter, ImageOps, PngImagePlugin, UnidentifiedImageError

from core.errors import ValidationError
from richmessages.fonts import font_set
from richmessages.layout import TextArea, parse_color
from richmessages.linebreak import thai_words
from richmessages.text_layout import FittedText, fit_text

MAX_SIDE = 1024
MAX_BYTES = 1024 * 1024
# Larger backgrounds are refused before they are decoded (a 12-megapixel photo is 4000 x 3000).
MAX_BACKGROUND_PIXELS = 50_000_000
# Tried in order until the JPEG is small enough; 4:4:4 keeps the edges of coloured text sharp.
JPEG_QUALITIES = (90, 84, 78, 70, 62, 54, 46, 38)
JPEG_SUBSAMPLING = "4:4:4"
# Past the lowest quality (or for a PNG), the image shrinks by this much per try.
SHRINK_STEP = 0.85
BACKGROUND_CACHE_SIZE = 4
SHADOW_COLOR = (0, 0, 0)
SHADOW_OPACITY = 0.6
_EXIF_ORIENTATION = 0x0112
# The PNG text chunk of a working copy that records the background's full (upright) size, as "2500x1686".
WORKING_COPY_SIZE_KEY = "rich-background-size"


class UnusableWorkingCopy(Exception):
    """Bytes given as a working copy that working_copy() did not make (or made for another MAX_SIDE); compose from
    the original background instead."""


@dataclass(frozen=True)
class ComposedImage:
    data: bytes
    content_type: str  # "image/jpeg" or "image/png"
    extension: str  # "jpg" or "png"
    sha256: str
    width: int
    height: int
    # A text did not fit its area even at its smallest size and was cut, ending with "…".
    truncated: bool


def compose(
    *,
    background: bytes,
    title_area: TextArea,
    body_area: TextArea,
    title: str,
    body: str,
    working_copy: bool = False,
) -> ComposedImage:
    """The hero image: ``title`` and ``body`` drawn in their areas on ``background`` (JPEG or PNG bytes).

    With ``working_copy``, ``background`` is what working_copy() made of the background, and the areas still
    refer to the background's full size; the image is the same as composed on the original.

    Raises ValidationError for a background that is not a readable JPEG or PNG, or an area outside it;
    UnusableWorkingCopy for a working copy working_copy() did not make; ConfigurationError when the fonts are not
    installed.
    """
    for name, value in (("title", title), ("body", body)):
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be text.", details={name: [f"{name} must be text."]})
    image, full_size = _background(background, working_copy=working_copy)
    areas = _areas_on(full_size, title_area=title_area, body_area=body_area)
    factor = image.width / full_size[0]
    areas = [area.scaled(factor, image_size=image.size) for area in areas]

    fitted = [fit_text(text, text_box(area)) for text, area in zip((title, body), areas, strict=True)]
    # Both overlays first, so a body overlay never covers title text where two boxes overlap.
    for area in areas:
        _paint_overlay(image, area)
    for area, text in zip(areas, fitted, strict=True):
        _paint_text(image, text_box(area), text)
    data, content_type, extension, size = _encode(image)
    return ComposedImage(
        data=data,
        content_type=content_type,
        extension=extension,
        sha256=hashlib.sha256(data).hexdigest(),
        width=size[0],
        height=size[1],
        truncated=any(text.truncated for text in fitted),
    )


def working_copy(background: bytes) -> bytes | None:
    """The background as composing uses it (upright, in sRGB, scaled to at most MAX_SIDE) as a lossless PNG that
    records the background's full size, or None when the background is no larger than MAX_SIDE (decoding it is
    then about as cheap as decoding a copy). Composing on it gives the same bytes as composing on the background,
    without decoding the large original: a 2500 x 1686 PNG costs 115-130 ms of CPU to decode, its working copy
    about 20 ms. Raises ValidationError like compose() for a background that is not a usable JPEG or PNG."""
    image, full_size = _background(background)
    if max(full_size) <= MAX_SIDE:
        return None
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text(WORKING_COPY_SIZE_KEY, f"{full_size[0]}x{full_size[1]}")
    output = io.BytesIO()
    image.save(output, format="PNG", compress_level=6, pnginfo=chunks)
    return output.getvalue()


def warm_up() -> None:
    """Resolves the fonts and builds the Thai dictionary now (about a second), so that the first composition of
    a process does not pay for it; call it where a worker process starts. Raises ConfigurationError like
    compose() when a font is missing."""
    font_set()
    thai_words("ก")


def _areas_on(size: tuple[int, int], *, title_area: TextArea, body_area: TextArea) -> list[TextArea]:
    """The areas checked against this background: they were checked against the template's size, which this
    background may not have."""
    areas, details = [], {}
    for area, field in ((title_area, "title_area"), (body_area, "body_area")):
        try:
            areas.append(TextArea.from_dict(area.to_dict(), field=field, image_size=size))
        except ValidationError as error:
            details.update(error.details)
    if details:
        message = " ".join(message for messages in details.values() for message in messages)
        raise ValidationError(message, details=details)
    return areas


def text_box(area: TextArea) -> TextArea:
    """Where the text goes in an area: inset from the edges of its overlay, so no letter touches them."""
    if area.overlay_color is None:
        return area
    padding = min(round(area.font_min * 0.5), area.width // 4, area.height // 4)
    return replace(
        area, x=area.x + padding, y=area.y + padding, width=area.width - 2 * padding, height=area.height - 2 * padding
    )


class _BackgroundCache:
    """The last few backgrounds, decoded and scaled, by the SHA-256 of their bytes: a template's background is
    composed again and again, and decoding a large PNG is most of the cost of a composition."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, tuple[Image.Image, tuple[int, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Image.Image, tuple[int, int]] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, item: tuple[Image.Image, tuple[int, int]]) -> None:
        with self._lock:
            self._items[key] = item
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


background_cache = _BackgroundCache(BACKGROUND_CACHE_SIZE)


def _background(data: bytes, *, working_copy: bool = False) -> tuple[Image.Image, tuple[int, int]]:
    """A copy (to paint on) of the background scaled to at most MAX_SIDE, and the background's full size."""
    if not isinstance(data, bytes | bytearray | memoryview) or not len(data):
        if working_copy:
            raise UnusableWorkingCopy("no image data")
        raise _invalid_background("no image data")
    data = bytes(data)
    key = hashlib.sha256(data).hexdigest()
    cached = background_cache.get(key)
    if cached is None:
        cached = _open_working_copy(data) if working_copy else _scaled(data)
        background_cache.put(key, cached)
    return cached[0].copy(), cached[1]


def _target(full_size: tuple[int, int]) -> tuple[int, int]:
    factor = min(1.0, MAX_SIDE / max(full_size))
    return (max(1, round(full_size[0] * factor)), max(1, round(full_size[1] * factor)))


def _scaled(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    image, full_size = _open(data)
    target = _target(full_size)
    reduction = min(image.width // target[0], image.height // target[1])
    if reduction >= 2:
        image = image.reduce(reduction)  # a fast box filter for the bulk of a large reduction
    if image.size != target:
        image = image.resize(target, Image.Resampling.LANCZOS)
    # The pixels are in sRGB now: Pillow's PNG encoder would embed the original profile (to be applied twice).
    image.info = {}
    return image, full_size


def _open_working_copy(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("PNG",))
            width, height = (int(side) for side in image.info[WORKING_COPY_SIZE_KEY].split("x"))
            if min(width, height) < 1:
                raise UnusableWorkingCopy(f"a recorded size of {width}x{height}")
            if (
                max(image.size) > MAX_SIDE
                or image.size != _target((width, height))
                or image.mode not in ("RGB", "RGBA")
            ):
                raise UnusableWorkingCopy(f"{image.size} {image.mode} is not a working copy of {width}x{height}")
            image.load()
    except UnusableWorkingCopy:
        raise
    except (
        KeyError,
        ValueError,
        OSError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise UnusableWorkingCopy(_reason(error)) from error
    image.info = {}
    return image, (width, height)


def _invalid_background(reason: str) -> ValidationError:
    message = f"The background is not a usable JPEG or PNG image: {reason}."
    return ValidationError(message, details={"background": [message]})


def _open(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded background, upright, in sRGB, as RGB (RGBA when it has transparency), and its full size.

    A large JPEG is decoded at a reduced scale still at least as large as the composed image; the full size
    (upright) is what the areas' coordinates refer to.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
            width, height = image.size
            if width * height > MAX_BACKGROUND_PIXELS:
                raise _invalid_background(f"{width}x{height} pixels is more than {MAX_BACKGROUND_PIXELS:,}")
            if image.format == "JPEG":
                # Decoding at 1/2, 1/4 or 1/8 scale straight away is much faster than decoding it all and scaling.
                scale = min(1.0, MAX_SIDE / max(width, height))
                image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _invalid_background(_reason(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Pillow reports truncated or corrupt data as any of these.
        raise _invalid_background(_reason(error)) from error
    icc = image.info.get("icc_profile")
    decoded = image.size
    upright = (
        ImageOps.exif_transpose(image, in_place=False) if image.getexif().get(_EXIF_ORIENTATION, 1) != 1 else image
    )
    # A photo taken sideways is shown turned upright, and its areas are placed on it that way.
    full_size = (height, width) if upright.size != decoded else (width, height)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    mode = "RGBA" if has_alpha else "RGB"
    image = upright if upright.mode == mode else upright.convert(mode)
    if icc:
        image = _to_srgb(image, icc)
    if has_alpha and image.getextrema()[3][0] == 255:
        image = image.convert("RGB")  # an alpha channel without any transparency
    return image, full_size


def _reason(error: BaseException) -> str:
    # Pillow names the buffer it read ("cannot identify image file <_io.BytesIO object at 0x7f…>").
    text = re.sub(r" <[^<>]* at 0x[0-9a-f]+>", "", str(error)).strip().rstrip(".")
    return text[:200] if text else type(error).__name__


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Colours converted from the image's embedded profile to sRGB, which is what phones assume without one."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(image, source, target, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unusable profile: the colours are taken as sRGB


def _paint_overlay(image: Image.Image, area: TextArea) -> None:
    if area.overlay_color is None or area.overlay_opacity <= 0:
        return
    color = parse_color(area.overlay_color)
    size = (area.width, area.height)
    tint = Image.new(image.mode, size, color + ((255,) if image.mode == "RGBA" else ()))
    image.paste(tint, area.box, Image.new("L", size, round(area.overlay_opacity * 255)))


def _paint_text(image: Image.Image, area: TextArea, text: FittedText) -> None:
    if text.fill is None:
        return
    alpha = (255,) if image.mode == "RGBA" else ()
    corner = (area.x, area.y)
    if text.shadow_offset:
        offset = text.shadow_offset
        shadow = Image.new("L", text.fill.size, 0)
        shadow.paste(text.ink, (offset, offset))
        shadow = shadow.filter(ImageFilter.GaussianBlur(max(1.0, offset / 2)))
        shadow = shadow.point([round(value * SHADOW_OPACITY) for value in range(256)])
        image.paste(SHADOW_COLOR + alpha, corner, shadow)
    if text.stroke is not None:
        image.paste(parse_color(area.stroke_color) + alpha, corner, text.stroke)
    image.paste(parse_color(area.color) + alpha, corner, text.fill)


def _encode(image: Image.Image) -> tuple[bytes, str, str, tuple[int, int]]:
    """JPEG (PNG with transparency) bytes of at most MAX_BYTES: lower quality first, then fewer pixels."""
    while True:
        if image.mode == "RGBA":
            data = _png(image)
            if len(data) > MAX_BYTES:
                # 256 colours keep the transparency and usually a fraction of the size.
                data = _png(image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))
            if len(data) <= MAX_BYTES:
                return data, "image/png", "png", image.size
        else:
            for quality in JPEG_QUALITIES:
                data = _jpeg(image, quality)
                if len(data) <= MAX_BYTES:
                    return data, "image/jpeg", "jpg", image.size
        smaller = (max(1, math.floor(image.width * SHRINK_STEP)), max(1, math.floor(image.height * SHRINK_STEP)))
        image = image.resize(smaller, Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=quality, subsampling=JPEG_SUBSAMPLING)
    return output.getvalue()


def _png(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG", compress_level=6)
    return output.getvalue()
