"""Turning what users send (photos, documents) into something the model can read.

Content is downloaded into a temporary directory that is always removed, whatever
happens; nothing a user sent is kept on disk.
"""

from __future__ import annotations

import base64
import csv
import io
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ValidationError

SUPPORTED_FILE_TYPES = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".csv": "csv"}
# Decompression bombs: refuse images that would expand beyond this many pixels.
_MAX_PIXELS = 40_000_000


class UnreadableMediaError(ValidationError):
    code = "unreadable_media"
    default_message = "The content could not be read."


@contextmanager
def scratch_file(suffix: str = ""):
    """A path in a private temporary directory, removed with the directory on exit."""
    with tempfile.TemporaryDirectory(prefix="linebot-media-") as directory:
        yield Path(directory) / f"content{suffix}"


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    width: int
    height: int
    mime_type: str = "image/jpeg"

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def image_prepare(path: Path, *, max_side: int, quality: int = 85) -> PreparedImage:
    """EXIF-transposed, downscaled to ``max_side`` on its longest side, re-encoded as JPEG."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > _MAX_PIXELS:
                raise UnreadableMediaError("The image is too large to process.")
            image = ImageOps.exif_transpose(image)
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            # Re-encoding drops EXIF (location, camera) along with any payload hidden in the file.
            image.save(out, format="JPEG", quality=quality, optimize=True)
            return PreparedImage(data=out.getvalue(), width=image.width, height=image.height)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnreadableMediaError() from exc


def file_kind(file_name: str) -> str | None:
    return SUPPORTED_FILE_TYPES.get(Path(file_name or "").suffix.lower())


def file_text(path: Path, *, kind: str, max_chars: int) -> str:
    """The text of a PDF, DOCX, TXT or CSV file, cut at ``max_chars``."""
    try:
        if kind == "pdf":
            text = _pdf_text(path, max_chars)
        elif kind == "docx":
            text = _docx_text(path)
        elif kind == "csv":
            text = _csv_text(path, max_chars)
        elif kind == "txt":
            text = _decode(path.read_bytes()[: max_chars * 4])
        else:
            raise UnreadableMediaError(f"Unsupported file type {kind!r}.")
    except UnreadableMediaError:
        raise
    except Exception as exc:
        raise UnreadableMediaError() from exc
    text = text.strip()
    if not text:
        raise UnreadableMediaError("The file holds no readable text.")
    return text[:max_chars]


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    for encoding in ("utf-8-sig", "cp932", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def _pdf_text(path: Path, max_chars: int) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    parts: list[str] = []
    size = 0
    for page in reader.pages:
        part = page.extract_text() or ""
        parts.append(part)
        size += len(part)
        if size >= max_chars:
            break
    return "\n".join(parts)


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _csv_text(path: Path, max_chars: int) -> str:
    content = _decode(path.read_bytes()[: max_chars * 4])
    rows = csv.reader(io.StringIO(content))
    return "\n".join(", ".join(row) for row in rows)
