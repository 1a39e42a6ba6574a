"""Executable prefixes and names (finding 14): a PDF starts with its header, and is stored and served under a name
ending in the sniffed type's extension — through ingest_file and through the upload API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive.context import Archive
from archive.documents import get_document
from archive.errors import IngestRefused
from archive.ingest import clean_filename, ingest_file
from archive.sniff import DOCX, PDF
from hoso.api.schemas import DocumentOut
from hoso.app import create_app
from tests.factories import PASSWORD, add_person, bearer, make_pdf

PREFIXES = {
    "dos_executable": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50,
    "shell_script": b"#!/bin/sh\nexec rm -rf ~ #\n",
    "byte_order_mark": b"\xef\xbb\xbf",
    "spaces": b"   \n",
}


def ingest(a: Archive, path: Path, filename: str):
    return ingest_file(a, path, filename=filename, school="T01", type_code="hoc-ba", year="2024-2025")


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_anything_before_the_pdf_header_is_refused(archive: Archive, tmp_path: Path, prefix: str):
    pdf = make_pdf(tmp_path / "real.pdf")
    path = tmp_path / "x.pdf.exe"
    path.write_bytes(PREFIXES[prefix] + pdf.read_bytes())
    with pytest.raises(IngestRefused) as ei:
        ingest(archive, path, "x.pdf.exe")
    assert ei.value.code == "unsupported_type"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("x.pdf.exe", "x.pdf"),
        ("Sổ điểm.PDF.scr", "Sổ điểm.pdf"),
        ("bao-cao.exe", "bao-cao.exe.pdf"),
        ("so-theo-doi", "so-theo-doi.pdf"),
        ("Học bạ 10A1.pdf", "Học bạ 10A1.pdf"),
        ("hoc-ba.PDF", "hoc-ba.PDF"),
        ("trang.html", "trang.html.pdf"),
    ],
)
def test_stored_name_ends_with_pdf(archive: Archive, tmp_path: Path, sent: str, stored: str):
    path = make_pdf(tmp_path / "a.pdf", text=sent)  # distinct bytes per case
    r = ingest(archive, path, sent)
    with archive.sessions() as s:
        assert DocumentOut.full(s, get_document(s, r.document.id)).model_dump()["filename"] == stored


def test_long_names_keep_their_extension():
    assert clean_filename("a" * 300 + ".exe", PDF) == "a" * 251 + ".pdf"
    assert clean_filename("bai-giang.docm", DOCX) == "bai-giang.docm.docx"
    assert clean_filename("../../etc/passwd", PDF) == "passwd.pdf"
    assert clean_filename("", PDF) == "tai-lieu.pdf"
    assert clean_filename("x.pdf.exe") == "x.pdf.exe"  # without a sniffed type: only cleaned


def test_upload_api_refuses_a_prefixed_pdf_and_renames_a_real_one(archive: Archive, tmp_path: Path):
    add_person(archive, "vt", ("van_thu", "T01"), full_name="Văn thư", password=PASSWORD)
    api = TestClient(
        create_app(archive.settings, archive=archive), headers=bearer(archive, "vt", name="t", ttl_days=1)
    )
    form = {"school": "T01", "type": "hoc-ba", "year": "2024-2025"}
    real = make_pdf(tmp_path / "real.pdf").read_bytes()

    r = api.post(
        "/api/v1/documents", data=form, files={"file": ("x.pdf.exe", PREFIXES["dos_executable"] + real)}
    )
    assert r.status_code == 415 and r.json()["error"] == "unsupported_type"

    r = api.post("/api/v1/documents", data=form, files={"file": ("x.pdf.exe", real)})
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    got = api.get(f"/api/v1/documents/{doc_id}/content")
    assert got.status_code == 200 and got.content == real
    disposition = got.headers["content-disposition"]
    assert disposition.endswith(".pdf") and ".exe" not in disposition
