"""Scanned lesson plans (issue 14, item 5): an image-only PDF is archived as scanned; OCR (tesseract, Vietnamese)
reads it for the "Rút kinh nghiệm" check, and the text is stored beside it as the version's ocr_text rendition."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from archive import ocr, renditions
from archive.content_checks import checks_for_version
from archive.context import Archive
from archive.documents import open_content
from archive.ingest import ingest_file

pytestmark = pytest.mark.skipif(not ocr.available(), reason="ocrmypdf / tesseract is not installed")
NOTO = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"


def scanned_pdf(path: Path, lines: list[str]) -> Path:
    """One A4 page at 200 dpi, the text only as pixels (no text layer), as a school scanner makes it."""
    page = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(NOTO, 40)
    for i, line in enumerate(lines):
        draw.text((150, 200 + i * 90), line, font=font, fill=0)
    buf = io.BytesIO()
    page.save(buf, format="PDF", resolution=200)
    path.write_bytes(buf.getvalue())
    return path


def _ingest(archive: Archive, path: Path):
    return ingest_file(
        archive, path, filename=path.name, school="T01", type_code="ke-hoach-bai-day", year="2024-2025"
    )


def test_scanned_plan_is_read_by_ocr_and_the_text_kept_beside_it(archive: Archive, tmp_path: Path):
    lines = ["KẾ HOẠCH BÀI DẠY", "Môn: Ngữ văn — Lớp 10A1", "IV. Rút kinh nghiệm", "Học sinh tích cực."]
    scan = scanned_pdf(tmp_path / "giao-an-scan.pdf", lines)
    result = _ingest(archive, scan)
    # the scan itself is what is archived, byte for byte
    assert b"".join(open_content(archive, result.document.id).chunks) == scan.read_bytes()
    with archive.sessions() as s:
        (check,) = checks_for_version(s, result.version.id)
    assert check["result"] == "present" and "OCR" in check["detail"], check
    text = b"".join(renditions.open_rendition(archive, result.document.id, renditions.OCR_TEXT).chunks)
    folded = unicodedata.normalize("NFC", text.decode("utf-8"))
    assert "Rút kinh nghiệm" in folded and "Ngữ văn" in folded


def test_scanned_plan_without_the_heading_is_missing(archive: Archive, tmp_path: Path):
    scan = scanned_pdf(tmp_path / "thieu.pdf", ["KẾ HOẠCH BÀI DẠY", "I. Mục tiêu bài học"])
    result = _ingest(archive, scan)
    with archive.sessions() as s:
        (check,) = checks_for_version(s, result.version.id)
    assert check["result"] == "missing" and "OCR" in check["detail"], check
