"""Template backgrounds: checked by their content, stored once under their SHA-256.

A background is a JPEG or PNG of at most :data:`MAX_BYTES`, each side between
:data:`MIN_SIDE` and :data:`MAX_SIDE` pixels. LINE shows a Flex hero image of at most
1024x1024 pixels and 10 MB; backgrounds may be larger because the composed hero image
is scaled down from them, and a side below 240 pixels would look blurred in the chat.

Files are stored through ``STORAGES["default"]`` as ``rich/backgrounds/<sha256>.<jpg|png>``:
identical uploads share one file, and a file's name never changes its content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.core.files.storage import default_storage

from core.errors import ValidationError
from core.uploads import validate_image

MAX_BYTES = 10 * 1024 * 1024
MIN_SIDE = 240
MAX_SIDE = 4096
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
DIRECTORY = "rich/backgrounds"


@dataclass(frozen=True)
class Background:
    format: str
    width: int
    height: int
    sha256: str

    @property
    def name(self) -> str:
        return f"{DIRECTORY}/{self.sha256}.{EXTENSIONS[self.format]}"


def _error(field: str, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", details={field: [message]})


def as_file(image) -> File:
    if image is None:
        raise _error("image", "An image is required.")
    return image if isinstance(image, File) else File(image, name=getattr(image, "name", None))


def inspect(image: File, *, field: str = "image") -> Background:
    """Checks the upload and hashes it; raises ValidationError naming ``field``. Stores nothing."""
    try:
        image_format, width, height = validate_image(
            image, max_bytes=MAX_BYTES, formats=tuple(EXTENSIONS), max_pixels=MAX_SIDE * MAX_SIDE
        )
    except DjangoValidationError as exc:
        raise _error(field, exc.messages[0]) from None
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise _error(
            field,
            f"The image is {width}x{height} pixels; each side must be from {MIN_SIDE} to {MAX_SIDE} pixels.",
        )
    digest = hashlib.sha256()
    image.seek(0)
    for chunk in image.chunks():
        digest.update(chunk)
    image.seek(0)
    return Background(format=image_format, width=width, height=height, sha256=digest.hexdigest())


@dataclass(frozen=True)
class Stored:
    name: str
    # False when an identical file was already there: it is shared and must not be removed.
    created: bool


def store(image: File, background: Background) -> Stored:
    storage = default_storage
    name = background.name
    if storage.exists(name):
        return Stored(name=name, created=False)
    image.seek(0)
    saved = storage.save(name, image)
    if saved != name:
        # Another upload of the same bytes got there first; keep that one.
        storage.delete(saved)
        return Stored(name=name, created=False)
    return Stored(name=name, created=True)


def discard(stored: Stored) -> None:
    """Removes a file this request created, when what was to use it was not saved."""
    if stored.created:
        default_storage.delete(stored.name)
