"""Unsigned PDFs that are not PDF/A are normalised to PDF/A-2b at upload (issue 14, item 3), before any signature:
the PDF/A is the record's file, its text the upload's; the upload is kept as the original rendition and served with
?rendition=original; signed PDFs and PDF/As are stored exactly as uploaded; when Ghostscript fails the upload is kept
as it is."""

from __future__ import annotations

import hashlib
import io
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive import ocr, pdfa_normalise, record_changes, renditions, sniff
from archive.content_checks import checks_for_version
from archive.context import Archive
from archive.documents import open_content
from archive.errors import Conflict, NotFound
from archive.ingest import hash_file, ingest_file
from archive.models import Event
from hoso.app import create_app
from signing import sign_pdf
from tests.factories import PASSWORD, add_person, bearer, make_archive, make_pdf
from tests.fuzz.test_fuzz_pdf_readers import _self_signed_signer
from tests.integration.test_scan_ocr import scanned_pdf

pytestmark = pytest.mark.skipif(not pdfa_normalise.available(), reason="Ghostscript (gs) is not installed")
TEXT = "Kế hoạch bài dạy: “Chiếu dời đô” của Lý Công Uẩn — Rút kinh nghiệm"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    a = make_archive(tmp_path, pdfa_normalise=True)
    yield a
    a.close()


def _text(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout
    return unicodedata.normalize("NFC", out.decode()).split()


def _ingest(archive: Archive, path: Path, type_code: str = "ke-hoach-bai-day"):
    return ingest_file(archive, path, filename=path.name, school="T01", type_code=type_code, year="2024-2025")


def _stored(archive: Archive, doc_id: int) -> bytes:
    return b"".join(open_content(archive, doc_id).chunks)


def test_unsigned_pdf_becomes_pdfa_with_its_text_and_original(archive: Archive, tmp_path: Path):
    upload = make_pdf(tmp_path / "Kế hoạch bài dạy.pdf", pages=2, text=TEXT)
    with pikepdf.open(upload) as before:
        assert before.open_metadata().pdfa_status == ""  # the test file is not PDF/A to begin with
    result = _ingest(archive, upload)
    stored = _stored(archive, result.document.id)
    assert stored != upload.read_bytes()
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B" and "/OutputIntents" in pdf.Root
        assert len(pdf.pages) == 2
    assert result.version.media_type == sniff.PDF and result.version.page_count == 2
    assert result.version.original_filename == upload.name
    assert _text(stored, tmp_path) == _text(upload.read_bytes(), tmp_path)  # word for word, diacritics intact
    assert "Uẩn" in _text(stored, tmp_path)
    original = renditions.open_rendition(archive, result.document.id, renditions.ORIGINAL)
    assert b"".join(original.chunks) == upload.read_bytes() and original.media_type == sniff.PDF
    with archive.sessions() as s:
        event = s.scalars(select(Event).where(Event.action == "document.ingest")).one()
        assert event.detail["converted_from"] == sniff.PDF
        assert event.detail["original_sha256"] == hashlib.sha256(upload.read_bytes()).hexdigest()


def test_api_serves_the_pdfa_and_the_upload_with_rendition_original(archive: Archive, tmp_path: Path):
    add_person(archive, "gv", ("gvbm", "T01"), full_name="Giáo viên Văn", password=PASSWORD)
    api = TestClient(
        create_app(archive.settings, archive=archive), headers=bearer(archive, "gv", name="t", ttl_days=1)
    )
    form = {"school": "T01", "type": "ke-hoach-bai-day", "year": "2024-2025"}
    upload = make_pdf(tmp_path / "ke-hoach.pdf", text=TEXT).read_bytes()
    r = api.post("/api/v1/documents", data=form, files={"file": ("ke-hoach.pdf", upload)})
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    shown = api.get(f"/api/v1/documents/{doc_id}/content")
    assert shown.status_code == 200 and shown.content != upload
    with pikepdf.open(io.BytesIO(shown.content)) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B"
    original = api.get(f"/api/v1/documents/{doc_id}/content", params={"rendition": "original"})
    assert original.status_code == 200 and original.content == upload
    # the same upload again is the same record, not a second normalisation
    again = api.post("/api/v1/documents", data=form, files={"file": ("ke-hoach (1).pdf", upload)})
    assert again.status_code == 200 and again.json()["id"] == doc_id


def test_signed_pdfs_and_pdfas_are_stored_as_uploaded(archive: Archive, tmp_path: Path):
    _, signer = _self_signed_signer()
    signed = tmp_path / "da-ky.pdf"
    signed.write_bytes(sign_pdf(make_pdf(tmp_path / "x.pdf", text=TEXT).read_bytes(), signer, level="B-B"))
    result = _ingest(archive, signed)
    assert _stored(archive, result.document.id) == signed.read_bytes()
    with pytest.raises(NotFound):
        renditions.open_rendition(archive, result.document.id, renditions.ORIGINAL)

    first = _ingest(archive, make_pdf(tmp_path / "plan.pdf", text=TEXT), type_code="so-dang-bo")
    pdfa = tmp_path / "da-la-pdfa.pdf"
    pdfa.write_bytes(_stored(archive, first.document.id))
    again = _ingest(
        archive, pdfa
    )  # another record type: a new record, of a file that already claims PDF/A-2b
    assert again.created and _stored(archive, again.document.id) == pdfa.read_bytes()
    with pytest.raises(NotFound):
        renditions.open_rendition(archive, again.document.id, renditions.ORIGINAL)


def test_a_failed_normalisation_keeps_the_upload_as_it_is(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(pdfa_normalise, "MEMORY", 16 * 1024 * 1024)  # Ghostscript cannot even start in 16 MB
    upload = make_pdf(tmp_path / "plan.pdf", text=TEXT)
    result = _ingest(archive, upload)
    assert _stored(archive, result.document.id) == upload.read_bytes()
    with archive.sessions() as s:
        event = s.scalars(select(Event).where(Event.action == "document.ingest")).one()
        assert "Ghostscript" in event.detail["not_converted"]


def test_the_archives_own_and_transferred_pdfs_are_kept_as_received(archive: Archive, tmp_path: Path):
    upload = make_pdf(tmp_path / "bien-ban.pdf", text=TEXT)
    result = ingest_file(
        archive, upload, filename=upload.name, school="T01", type_code="ke-hoach-bai-day", year="2024-2025",
        as_received=True,
    )  # fmt: skip
    assert _stored(archive, result.document.id) == upload.read_bytes()


@pytest.mark.skipif(not ocr.available(), reason="ocrmypdf / tesseract is not installed")
def test_a_normalised_scan_is_still_read_by_ocr_and_the_scan_kept(archive: Archive, tmp_path: Path):
    scan = scanned_pdf(tmp_path / "giao-an-scan.pdf", ["KẾ HOẠCH BÀI DẠY", "IV. Rút kinh nghiệm"])
    result = _ingest(archive, scan)
    with pikepdf.open(io.BytesIO(_stored(archive, result.document.id))) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B"
    original = renditions.open_rendition(archive, result.document.id, renditions.ORIGINAL)
    assert b"".join(original.chunks) == scan.read_bytes()
    with archive.sessions() as s:
        (check,) = checks_for_version(s, result.version.id)
    assert check["result"] == "present" and "OCR" in check["detail"], check


def test_a_replacement_pdf_is_normalised_too_before_anyone_signs_it(archive: Archive, tmp_path: Path):
    teacher = add_person(archive, "gv", ("gvbm", "T01"), full_name="Giáo viên Văn", password=PASSWORD)
    first = ingest_file(
        archive, make_pdf(tmp_path / "v1.pdf", text=TEXT), filename="v1.pdf", school="T01",
        type_code="ke-hoach-bai-day", year="2024-2025", actor=teacher,
    )  # fmt: skip
    new = make_pdf(tmp_path / "Giáo án sửa.pdf", text=TEXT + " (sửa)")
    sha, size = hash_file(new)
    v2 = record_changes.replace_file(
        archive,
        first.document.id,
        new,
        filename=new.name,
        sha256=sha,
        size=size,
        reason="tải nhầm",
        actor=teacher,
    )
    assert v2.number == 2 and v2.sha256 != sha
    with pikepdf.open(io.BytesIO(_stored(archive, first.document.id))) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B"
    original = renditions.open_rendition(archive, first.document.id, renditions.ORIGINAL)
    assert b"".join(original.chunks) == new.read_bytes()
    with pytest.raises(
        Conflict
    ) as ei:  # the same file again is no change, though the version holds its PDF/A
        record_changes.replace_file(
            archive,
            first.document.id,
            new,
            filename=new.name,
            sha256=sha,
            size=size,
            reason="lại",
            actor=teacher,
        )
    assert ei.value.code == "same_file"
