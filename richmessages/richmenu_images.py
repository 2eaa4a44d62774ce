"""Rich-menu images: checked by their content against LINE's rules, then stored under their SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from core.uploads import validate_image

# LINE's rules for a rich-menu image (Messaging API reference, "Upload rich menu image").
MAX_BYTES = 1024 * 1024
MIN_WIDTH, MAX_WIDTH = 800, 2500
MIN_HEIGHT = 250
MIN_ASPECT_RATIO = 1.45
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int

    def as_file(self) -> ContentFile:
        return ContentFile(self.data, name=f"{self.sha256}.{self.extension}")


def richmenu_image_check(file) -> CheckedImage:
    """The image's facts if LINE would take it as a rich menu; else ``ValidationError`` saying what is wrong."""
    image_format, width, height = validate_image(file, max_bytes=MAX_BYTES, formats=tuple(CONTENT_TYPES))
    problems = []
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        problems.append(f"The image is {width} pixels wide; LINE needs {MIN_WIDTH} to {MAX_WIDTH}.")
    if height < MIN_HEIGHT:
        problems.append(f"The image is {height} pixels high; LINE needs at least {MIN_HEIGHT}.")
    if height and width / height < MIN_ASPECT_RATIO:
        problems.append(
            f"The image is {width}x{height} (width / height = {width / height:.2f}); "
            f"LINE needs a width at least {MIN_ASPECT_RATIO} times the height."
        )
    if problems:
        raise ValidationError(problems, code="rich_menu_image_size")
    file.seek(0)
    data = file.read()
    file.seek(0)
    return CheckedImage(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=CONTENT_TYPES[image_format],
        extension=EXTENSIONS[image_format],
        width=width,
        height=height,
    )
