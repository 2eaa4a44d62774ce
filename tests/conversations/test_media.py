import io
from pathlib import Path

import docx
import pytest
from PIL import Image

from conversations import media


def test_it_removes_scratch_files_even_when_processing_fails():
    with pytest.raises(media.UnreadableMediaError), media.scratch_file(".img") as path:
        path.write_bytes(b"junk")
        kept = path
        media.image_prepare(path, max_side=100)
    assert not kept.exists() and not kept.parent.exists()


def test_it_reencodes_a_prepared_image_as_jpeg_without_exif(tmp_path):
    image = Image.new("RGBA", (3000, 1000), (0, 0, 255, 128))
    path = tmp_path / "in.png"
    image.save(path)
    prepared = media.image_prepare(path, max_side=1024)
    assert (prepared.width, prepared.height) == (1024, 341)
    out = Image.open(io.BytesIO(prepared.data))
    assert out.format == "JPEG" and not out.getexif()


def test_it_extracts_the_text_of_docx_csv_and_txt_files(tmp_path):
    document = docx.Document()
    document.add_paragraph("Hello from Word")
    document.save(tmp_path / "a.docx")
    (tmp_path / "b.csv").write_text("name,age\nAnn,31\n")
    (tmp_path / "c.txt").write_bytes("日本語のテキスト".encode("cp932"))
    assert media.file_text(tmp_path / "a.docx", kind="docx", max_chars=100) == "Hello from Word"
    assert media.file_text(tmp_path / "b.csv", kind="csv", max_chars=100) == "name, age\nAnn, 31"
    assert media.file_text(tmp_path / "c.txt", kind="txt", max_chars=100) == "日本語のテキスト"


def test_it_reports_a_pdf_without_text_as_unreadable(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as f:
        writer.write(f)
    # A PDF without text is reported as unreadable rather than summarised as nothing.
    with pytest.raises(media.UnreadableMediaError):
        media.file_text(path, kind="pdf", max_chars=100)


def test_it_recognises_file_kinds_by_extension():
    assert [media.file_kind(n) for n in ["a.PDF", "b.docx", "c.txt", "d.csv", "e.xlsx", ""]] == [
        "pdf",
        "docx",
        "txt",
        "csv",
        None,
        None,
    ]


def test_it_reports_a_corrupt_pdf_as_unreadable(tmp_path):
    path = Path(tmp_path) / "x.pdf"
    path.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(media.UnreadableMediaError):
        media.file_text(path, kind="pdf", max_chars=100)
