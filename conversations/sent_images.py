"""Pictures users sent, fetched from LINE again when an operator opens a transcript.

LINE keeps message content for a limited time and the bot never stores what users send, so
a picture is shown only while LINE still has it. The bytes are checked with Pillow before
they reach the browser, and the content type comes from that check, never from LINE.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError as FieldError

from conversations import tunables
from core.errors import LineApiError
from core.line.client import ContentTooLargeError, get_line_client
from core.uploads import validate_image

# media_ref of a picture: "image:<LINE message id>"; LINE's message ids are decimal digits.
_IMAGE_REF = re.compile(r"^image:([0-9]{1,32})$")
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


class PictureUnavailable(Exception):
    def __init__(self, message: str, *, gone: bool = False):
        super().__init__(message)
        self.message = message
        # LINE answered that it no longer has the content (as opposed to an error on the way).
        self.gone = gone


@dataclass(frozen=True)
class SentPicture:
    data: bytes
    content_type: str
    file_name: str


def line_message_id(media_ref: str) -> str | None:
    """The LINE message id of a picture's ``media_ref``, or None when it is not a picture."""
    found = _IMAGE_REF.match(media_ref or "")
    return found.group(1) if found else None


def sent_picture_fetch(*, media_ref: str) -> SentPicture:
    """Downloads the picture from LINE and checks it is one; raises PictureUnavailable otherwise."""
    message_id = line_message_id(media_ref)
    if message_id is None:
        raise PictureUnavailable("This message has no picture.")
    limit = tunables.file_max_bytes()
    buffer = io.BytesIO()
    try:
        get_line_client().download_content(message_id, buffer, max_bytes=limit)
    except ContentTooLargeError:
        raise PictureUnavailable(f"The picture is larger than {limit // (1024 * 1024)} MB.") from None
    except LineApiError as exc:
        if exc.status in (404, 410):
            raise PictureUnavailable(
                "LINE no longer has this picture: it keeps what users send only for a limited time.", gone=True
            ) from None
        raise PictureUnavailable(f"The picture could not be fetched from LINE ({exc.message})") from None
    try:
        image_format, _, _ = validate_image(buffer, max_bytes=limit, formats=tuple(CONTENT_TYPES))
    except FieldError as exc:
        raise PictureUnavailable(f"LINE did not return a picture we can show: {exc.messages[0]}") from None
    return SentPicture(
        data=buffer.getvalue(),
        content_type=CONTENT_TYPES[image_format],
        file_name=f"line-{message_id}.{EXTENSIONS[image_format]}",
    )
