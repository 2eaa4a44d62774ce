"""Template backgrounds: checked by their content, stored once under their SHA-256.

A background is a JPEG or PNG of at most :data:`MAX_BYTES`, each side between
:data:`MIN_SIDE` and :data:`MAX_SIDE` pixels. LINE shows a Flex hero image of at most
1024x1024 pixels and 10 MB; backgrounds may be larger because the composed hero image
is scaled down from them, and a side below 240 pixels would look blurred in the chat.

Files are stored through ``STORAGES["default"]`` as ``rich/backgrounds/<sha256>.<jpg|png>``:
identical uploads share one file, and a file's name never changes its content.

A background larger than the composed image (a side over ``composer.MAX_SIDE``) also gets a *working copy*,
``rich/working/<sha256 of the background>.png``: the background as composing uses it, scaled down, upright and in
sRGB (``composer.working_copy``), so that composing never decodes the large original (see docs/PERFORMANCE.md,
"Rich message composition"). It is made at upload; ``manage.py rich_background_working_copies`` makes the missing
ones of backgrounds stored before, and composing falls back to the original where there is none. Working copies
are not public: only the composed image is shown to readers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.errors import ValidationError
from core.logging import get_logger
from core.uploads import validate_image
from richmessages import composer

log = get_logger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MIN_SIDE = 240
MAX_SIDE = 4096
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
DIRECTORY = "rich/backgrounds"
WORKING_DIRECTORY = "rich/working"


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
    # The working copy this call stored, to be removed with the background; "" when none was stored.
    created_working_copy: str = ""


def store(image: File, background: Background) -> Stored:
    """Stores the background and, when it is larger than the composed image, its working copy."""
    created = _save(background.name, image)
    try:
        image.seek(0)
        data = image.read()
        image.seek(0)
        made = working_copy_store(data=data, sha256=background.sha256, width=background.width, height=background.height)
    except BaseException:
        discard(Stored(name=background.name, created=created))
        raise
    return Stored(name=background.name, created=created, created_working_copy=made)


def _save(name: str, file: File) -> bool:
    """Stores ``file`` as ``name`` unless that exists; True when this call stored it."""
    storage = default_storage
    if storage.exists(name):
        return False
    file.seek(0)
    saved = storage.save(name, file)
    if saved != name:
        # Another upload of the same bytes got there first; keep that one.
        storage.delete(saved)
        return False
    return True


def discard(stored: Stored) -> None:
    """Removes the files this request created, when what was to use them was not saved."""
    if stored.created:
        default_storage.delete(stored.name)
    if stored.created_working_copy:
        default_storage.delete(stored.created_working_copy)


def working_copy_name(sha256: str) -> str:
    return f"{WORKING_DIRECTORY}/{sha256}.png"


def has_working_copy(*, width: int, height: int) -> bool:
    """Whether a background of this size gets a working copy: only one larger than the composed image does."""
    return max(width, height) > composer.MAX_SIDE


def working_copy_store(*, data: bytes, sha256: str, width: int, height: int) -> str:
    """Makes and stores the working copy of the background ``data`` (whose SHA-256 is ``sha256``) unless it has
    none or it is there already; the name stored, or "". A background the composer cannot read gets none: composing
    on it then reports why, as it did before working copies."""
    name = working_copy_name(sha256)
    if not has_working_copy(width=width, height=height) or default_storage.exists(name):
        return ""
    try:
        copy = composer.working_copy(data)
    except ValidationError as error:
        log.warning("rich_background_working_copy_skipped", background=sha256, reason=error.message)
        return ""
    if copy is None:
        return ""
    return name if _save(name, ContentFile(copy, name=name)) else ""


def composition_source(
    *, name: str, sha256: str, width: int, height: int, use_working_copy: bool = True
) -> tuple[bytes, bool]:
    """The bytes to compose on for the background stored as ``name``: its working copy when it has one (True),
    else the background itself (False). Raises FileNotFoundError when neither is in storage."""
    if use_working_copy and has_working_copy(width=width, height=height):
        try:
            return _read(working_copy_name(sha256)), True
        except FileNotFoundError:
            log.warning(
                "rich_background_working_copy_missing", background=name, fix="manage.py rich_background_working_copies"
            )
    return _read(name), False


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        return file.read()
