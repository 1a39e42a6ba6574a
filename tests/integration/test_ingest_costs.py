"""The fixed cost of one upload (issue 15, small-file ingest): what ingest does once per file stays once — one
pdftotext pass, no look-up of rows it has just created — without dropping a check (a PDF that reads empty but whole is
still read by OCR, one pdftotext cannot read is not)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from archive import fulltext, ingest
from archive.context import Archive
from archive.ingest import ingest_file
from tests.factories import make_pdf
from tests.plans import statements


def _ingest(archive: Archive, path: Path):
    return ingest_file(
        archive,
        path,
        filename=path.name,
        school="T01",
        type_code="so-theo-doi-danh-gia-lop",
        year="2024-2025",
    )


def _shim(monkeypatch: pytest.MonkeyPatch, folder: Path, body: str) -> Path:
    """A `pdftotext` first on PATH (found by the server, run by the inspection worker or the server): each run is
    a line in the log it returns, then `body` runs."""
    folder.mkdir()
    log = folder / "runs.log"
    exe = folder / "pdftotext"
    exe.write_text(f'#!/bin/sh\necho "$@" >> {log}\n{body}\n')
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def _runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def pdftotext_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every pdftotext process (the full-text index, the content checks and the scan test), wherever it runs."""
    real = shutil.which("pdftotext")
    assert real is not None
    return _shim(monkeypatch, tmp_path / "shim", f'exec {real} "$@"')


@pytest.fixture
def ocr_runs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    runs: list[Path] = []
    monkeypatch.setattr(ingest.ocr, "read_scan", lambda path, *, workdir: runs.append(path))
    return runs


def test_a_text_pdf_is_read_once_for_the_index_and_the_scan_test(
    archive: Archive, tmp_path: Path, pdftotext_runs: Path, ocr_runs: list[Path]
):
    r = _ingest(archive, make_pdf(tmp_path / "so.pdf", text="Sổ theo dõi lớp 6A"))
    assert len(_runs(pdftotext_runs)) == 1
    assert ocr_runs == []  # it has a text layer
    with archive.sessions() as s:
        row = s.scalar(
            select(fulltext.DocumentText).where(fulltext.DocumentText.document_id == r.document.id)
        )
        assert row is not None and "6A" in row.text and row.source == "file"


def test_a_pdf_that_reads_empty_is_read_by_ocr(
    archive: Archive, tmp_path: Path, pdftotext_runs: Path, ocr_runs: list[Path]
):
    blank = pikepdf.new()  # no text layer: what a scanner's page is to pdftotext
    blank.add_blank_page()
    blank.save(tmp_path / "scan.pdf")
    _ingest(archive, tmp_path / "scan.pdf")
    assert len(_runs(pdftotext_runs)) == 1
    assert len(ocr_runs) == 1


def test_a_pdf_pdftotext_cannot_read_is_not_given_to_ocr(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ocr_runs: list[Path]
):
    log = _shim(monkeypatch, tmp_path / "shim", "exit 1")  # pdftotext gives up on the file
    r = _ingest(archive, make_pdf(tmp_path / "slow.pdf"))
    assert r.created and len(_runs(log)) == 1
    assert ocr_runs == []


def test_a_new_record_looks_up_none_of_the_rows_it_creates(archive: Archive, tmp_path: Path):
    with statements(archive.engine) as sent:
        _ingest(archive, make_pdf(tmp_path / "so.pdf", extra=b"new"))
    selects = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in selects if "FROM versions" in s or "FROM replica_copies" in s], selects
    assert any(
        "INSERT INTO replica_copies" in s for s in sent
    )  # the copies were recorded, just not looked up
