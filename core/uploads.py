"""Uploaded files: size limits while streaming, and images judged by their content.

``SizeLimitUploadHandler`` (first in ``FILE_UPLOAD_HANDLERS``) stops reading a
file once it passes ``UPLOAD_MAX_BYTES``, so an oversized upload never reaches
a view.  ``validate_image`` opens the bytes with Pillow: a file named
``.png`` that is not a PNG is refused, whatever its name or content type says.
"""

from __future__ import annotations

import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

DEFAULT_IMAGE_FORMATS = ("JPEG", "PNG")
# Pixels, not bytes: a tiny compressed file can expand into gigabytes in memory.
DEFAULT_MAX_PIXELS = 40_000_000


class SizeLimitUploadHandler(FileUploadHandler):
    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def validate_image(
    file,
    *,
    max_bytes: int,
    formats: tuple[str, ...] = DEFAULT_IMAGE_FORMATS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[str, int, int]:
    """Checks that ``file`` is an image in one of ``formats`` and within the limits.

    Returns ``(format, width, height)``; raises ``ValidationError`` with a message
    an operator understands.  The file is left positioned at its start.
    """
    # Pillow is imported by the code that handles images, not by every process at start-up.
    from PIL import Image, UnidentifiedImageError

    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if size > max_bytes:
        raise ValidationError(
            f"The file is {size} bytes; at most {max_bytes} bytes are allowed.", code="file_too_large"
        )
    if size == 0:
        raise ValidationError("The file is empty.", code="empty_file")
    file.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                image_format, (width, height) = image.format, image.size
                if width * height > max_pixels:
                    raise ValidationError(
                        f"The image is {width}x{height} pixels; at most {max_pixels} pixels are allowed.",
                        code="image_too_large",
                    )
                image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("The file is not an image we can read.", code="not_an_image") from None
    except (OSError, SyntaxError, ValueError):
        # Pillow raises these for truncated or corrupt data.
        raise ValidationError("The image is damaged or incomplete.", code="damaged_image") from None
    finally:
        file.seek(0)
    if image_format not in formats:
        allowed = ", ".join(formats)
        raise ValidationError(
            f"The image is {image_format}; only {allowed} images are accepted.", code="unsupported_image_format"
        )
    return image_format, width, height
