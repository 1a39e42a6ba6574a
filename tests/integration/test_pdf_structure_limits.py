"""Deep nesting, huge, deep or circular page trees and looping cross-references (issue 14, item 2): the upload is
refused with a clear bilingual reason and nothing is stored; validation and text extraction give a report, never a
crash; the inspecting process stays small."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import content_checks as cc
from archive import sniff
from archive.context import Archive
from archive.errors import IngestRefused
from archive.ingest import ingest_file
from archive.models import Document
from signing import validate_pdf
from tests.integration import pdfkit
from tests.integration.hostile_structures import STRUCTURES, huge_page_tree


@pytest.fixture(params=sorted(STRUCTURES))
def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"{request.param}.pdf"
    path.write_bytes(STRUCTURES[request.param]())
    return path


def _assert_nothing_stored(archive: Archive) -> None:
    with archive.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
    for store in archive.replicas.stores:
        assert list(store.list("")) == []


def test_hostile_structure_is_refused_and_nothing_is_stored(archive: Archive, hostile: Path):
    with pytest.raises(IngestRefused) as ei:
        ingest_file(
            archive, hostile, filename="ke-hoach.pdf", school="T01", type_code="hoc-ba", year="2024-2025"
        )
    assert ei.value.code == "too_complex" and ei.value.status == 422
    assert "không được lưu" in ei.value.message_vi and "not stored" in ei.value.message_en
    assert str(hostile.parent) not in ei.value.message_en  # no server path in what the uploader reads
    _assert_nothing_stored(archive)


def test_validation_and_text_extraction_give_an_answer(hostile: Path):
    report = validate_pdf(hostile.read_bytes(), time_limit=60)
    assert report.verdict == "INDETERMINATE" and report.signatures == ()
    (finding,) = cc.inspect(hostile, sniff.PDF, cc.LESSON_PLAN)
    assert finding.result in ("unknown", "missing")


def test_huge_page_tree_is_refused_with_flat_memory(tmp_path: Path):
    path = tmp_path / "huge_page_tree.pdf"
    path.write_bytes(huge_page_tree())
    out = pdfkit.run_measured(
        "from pathlib import Path\n"
        "from archive.errors import IngestRefused\n"
        "from archive.pdfcheck import inspect_pdf\n"
        "try:\n    inspect_pdf(Path(arg)); out['code'] = 'accepted'\n"
        "except IngestRefused as e:\n    out['code'] = e.code; out['vi'] = e.message_vi\n"
        # the inspection ran in a worker of the pool: stopped and waited for, its peak counts with the children's
        "from archive import inspection_pool\ninspection_pool.shutdown()\n",
        str(path),
    )
    assert "crash" not in out, out
    assert out["code"] == "decompression_bomb" and "cây trang quá lớn" in out["vi"], out
    # the inspection worker's address space is capped at 512 MiB over what it maps when it starts on the file
    assert out["peak_mb"] < 900, out
