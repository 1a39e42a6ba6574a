"""Full-text search over content (issue 14, item 6), on SQLite (FTS5) and PostgreSQL (tsvector): diacritics and case
are ignored, the matching passage is shown in its original spelling, legacy-encoded plans are found by Unicode words,
and nobody finds what they may not read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive import conversion, fulltext
from archive.context import Archive
from archive.ingest import ingest_file
from hoso.app import create_app
from tests.factories import PASSWORD, add_person, bearer, make_archive, pdf_bytes
from tests.integration import officekit


@pytest.fixture
def catalog(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, database_url=db_url)
    yield a
    a.close()


def _pdf(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(pdf_bytes(1, text=text, lines=3))
    return path


def _ingest(a: Archive, path: Path, school: str = "T01", type_code: str = "so-theo-doi-danh-gia-lop"):
    return ingest_file(a, path, filename=path.name, school=school, type_code=type_code, year="2024-2025")


def test_words_are_found_without_diacritics_or_case_and_the_passage_shown(catalog: Archive, tmp_path: Path):
    wanted = _ingest(catalog, _pdf(tmp_path, "a.pdf", "Biên bản họp tổ Ngữ văn về đổi mới phương pháp"))
    _ingest(catalog, _pdf(tmp_path, "b.pdf", "Sổ gọi tên và ghi điểm lớp 10A1"))
    with catalog.sessions() as s:
        for query in ("doi moi phuong phap", "ĐỔI MỚI Phương Pháp", "phuong   PHAP doi"):
            hits, total = fulltext.search(s, query, school_ids=None)
            assert total == 1 and [h.document.id for h in hits] == [wanted.document.id], query
            assert "đổi mới phương pháp" in hits[0].passage  # the original spelling
        assert fulltext.search(s, "phuong phap hoa hoc", school_ids=None)[1] == 0  # every word must be there


@pytest.mark.parametrize("query", ['"', "a OR b", "NEAR(x y)", "*", "x' --", "'); DROP TABLE documents; --"])
def test_query_syntax_never_reaches_the_engine(catalog: Archive, tmp_path: Path, query: str):
    _ingest(catalog, _pdf(tmp_path, "a.pdf", "Kế hoạch giáo dục nhà trường"))
    with catalog.sessions() as s:
        hits, total = fulltext.search(s, query, school_ids=None)
    assert total == len(hits) and total <= 1


def test_search_keeps_to_the_schools_one_may_read(catalog: Archive, tmp_path: Path):
    _ingest(catalog, _pdf(tmp_path, "t01.pdf", "Nghị quyết hội đồng trường T01"), school="T01")
    other = _ingest(catalog, _pdf(tmp_path, "c01.pdf", "Nghị quyết hội đồng trường C01"), school="C01")
    add_person(catalog, "gv", ("gvbm", "T01"), full_name="Giáo viên", password=PASSWORD)
    api = TestClient(
        create_app(catalog.settings, archive=catalog), headers=bearer(catalog, "gv", name="t", ttl_days=1)
    )
    r = api.get("/api/v1/search", params={"q": "nghi quyet hoi dong"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and body["terms"] == ["nghi", "quyet", "hoi", "dong"]
    assert other.document.id not in {i["id"] for i in body["items"]}
    assert "Nghị quyết hội đồng" in body["items"][0]["passage"]
    assert api.get("/api/v1/search", params={"q": ""}).status_code == 422


@pytest.mark.skipif(not conversion.available(), reason="LibreOffice (soffice) is not installed")
def test_a_plan_typed_in_tcvn3_is_found_by_unicode_words(catalog: Archive, tmp_path: Path):
    lines = ["KÕ ho¹ch bµi d¹y m«n Ng÷ v¨n", "Häc sinh tÝch cùc", "IV. Rót kinh nghiÖm"]
    plan = _ingest(
        catalog,
        officekit.docx(tmp_path / "tcvn3.docx", lines=lines, font=".VnTime"),
        type_code="ke-hoach-bai-day",
    )
    with catalog.sessions() as s:
        hits, total = fulltext.search(s, "học sinh tích cực", school_ids=None)
    assert total == 1 and hits[0].document.id == plan.document.id
    assert hits[0].passage == "Học sinh tích cực"
