"""The lesson plan's "Rút kinh nghiệm" check through the real write path (SQLite and PostgreSQL): stored with the
version, shown by the document model (hoso/api/schemas.py), the upload API, the document page and `hoso documents get`, never refusing."""

from __future__ import annotations

import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive import content_checks as cc
from archive.context import Archive
from archive.documents import get_document
from archive.ingest import ingest_file
from archive.models import Document, Version
from hoso.api.schemas import DocumentOut
from hoso.app import create_app
from tests.factories import PASSWORD, add_person, bearer, folder_replicas, hoso_env, make_archive, make_pdf
from tests.processes import run_cli

MISSING_VI = "Kế hoạch bài dạy chưa có mục «Rút kinh nghiệm»"


@pytest.fixture
def catalog(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, database_url=db_url)
    yield a
    a.close()


@pytest.fixture
def pdftotext() -> None:
    # `make test` installs poppler-utils; without it every PDF check is "unknown" and these tests would prove nothing
    assert shutil.which("pdftotext"), (
        "pdftotext (poppler-utils) is not installed: run scripts/system-deps.sh test"
    )


def lesson_docx(path: Path, *paragraphs: str) -> Path:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    # each paragraph split into two runs, as Word does
    body = "".join(
        f"<w:p><w:r><w:t>{p[:3]}</w:t></w:r><w:r><w:t xml:space='preserve'>{p[3:]}</w:t></w:r></w:p>"
        for p in paragraphs
    )
    xml = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", xml.encode("utf-8"))
    return path


def with_section(tmp_path: Path) -> Path:
    return lesson_docx(
        tmp_path / "Bài 5 - Hàm số bậc nhất.docx",
        "KẾ HOẠCH BÀI DẠY",
        "I. Mục tiêu",
        f"Mã bài {uuid.uuid4().hex[:8]}",  # distinct bytes for each file, so no upload is a duplicate
        "IV. Rút kinh nghiệm:",
        "Học sinh còn nhầm hệ số góc.",
    )


def without_section(tmp_path: Path) -> Path:
    return lesson_docx(
        tmp_path / "Bài 6 - Đồ thị.docx", "KẾ HOẠCH BÀI DẠY", "I. Mục tiêu", f"Mã bài {uuid.uuid4().hex[:8]}"
    )


def ingest(a: Archive, path: Path, type_code: str = "ke-hoach-bai-day"):
    return ingest_file(a, path, filename=path.name, school="T01", type_code=type_code, year="2024-2025")


def stored(a: Archive, version_id: int) -> list[tuple[str, str]]:
    with a.sessions() as s:
        rows = s.scalars(select(cc.ContentCheck).where(cc.ContentCheck.version_id == version_id))
        return [(r.name, r.result) for r in rows]


def checks(a: Archive, doc_id: str) -> list[dict]:
    with a.sessions() as s:
        return DocumentOut.full(s, get_document(s, doc_id)).model_dump()["checks"]


def test_docx_with_and_without_the_section(catalog: Archive, tmp_path: Path):
    present = ingest(catalog, with_section(tmp_path))
    missing = ingest(catalog, without_section(tmp_path))
    assert present.created and missing.created  # a missing section never refuses the upload
    assert stored(catalog, present.version.id) == [("rut_kinh_nghiem", "present")]
    assert stored(catalog, missing.version.id) == [("rut_kinh_nghiem", "missing")]
    (c,) = checks(catalog, missing.document.id)
    assert c["name"] == "rut_kinh_nghiem" and c["result"] == "missing"
    assert c["message_vi"] == MISSING_VI and "Rút kinh nghiệm" in c["message_en"]
    assert [x["result"] for x in checks(catalog, present.document.id)] == ["present"]


def test_pdf_with_and_without_the_section(catalog: Archive, tmp_path: Path, pdftotext: None):
    with_rkn = make_pdf(tmp_path / "Bài 7.pdf", pages=3, text="IV. Rút kinh nghiệm")
    plain = make_pdf(tmp_path / "Bài 8.pdf", pages=2, text="III. Tiến trình dạy học")
    present, missing = ingest(catalog, with_rkn), ingest(catalog, plain)
    assert stored(catalog, present.version.id) == [("rut_kinh_nghiem", "present")]
    assert stored(catalog, missing.version.id) == [("rut_kinh_nghiem", "missing")]
    assert [x["result"] for x in checks(catalog, missing.document.id)] == ["missing"]


def test_other_types_get_no_check(catalog: Archive, tmp_path: Path):
    # the same file as a professional group's record: the rule is the lesson plan's alone
    r = ingest(catalog, without_section(tmp_path), type_code="ke-hoach-hoat-dong-chuyen-mon")
    assert r.created and stored(catalog, r.version.id) == []
    assert checks(catalog, r.document.id) == []


def test_the_check_commits_with_the_version(
    catalog: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # a failure after the finding is written must take the document, the version and the finding away together
    real = cc.record

    def record_then_fail(*args, **kw):
        real(*args, **kw)
        raise RuntimeError("crash after the finding")

    monkeypatch.setattr(cc, "record", record_then_fail)
    with pytest.raises(RuntimeError):
        ingest(catalog, without_section(tmp_path))
    with catalog.sessions() as s:
        counts = [s.scalar(select(func.count()).select_from(m)) for m in (Document, Version, cc.ContentCheck)]
    assert counts == [0, 0, 0]


def test_upload_api_and_document_page_show_the_finding(catalog: Archive, tmp_path: Path):
    add_person(catalog, "gv", ("gvbm", "T01"), full_name="Giáo viên Toán", password=PASSWORD)
    app = create_app(catalog.settings, archive=catalog)
    api = TestClient(app, headers=bearer(catalog, "gv", name="test", ttl_days=1))

    def upload(path: Path) -> dict:
        form = {"school": "T01", "type": "ke-hoach-bai-day", "year": "2024-2025"}
        r = api.post("/api/v1/documents", data=form, files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, r.text
        return r.json()

    missing = upload(without_section(tmp_path))
    assert missing["checks"] == [
        {
            "name": "rut_kinh_nghiem",
            "result": "missing",
            "message_vi": MISSING_VI,
            "message_en": cc.MESSAGES[("rut_kinh_nghiem", "missing")][1],
            "detail": "",
        }
    ]
    present = upload(with_section(tmp_path))
    assert [c["result"] for c in present["checks"]] == ["present"]
    assert api.get(f"/api/v1/documents/{missing['id']}").json()["checks"] == missing["checks"]

    web = TestClient(app)
    r = web.post("/api/v1/auth/login", json={"username": "gv", "password": PASSWORD})
    assert r.status_code == 200, r.text
    page = web.get(f"/ho-so/{missing['id']}")
    assert page.status_code == 200 and 'id="thieu-rut-kinh-nghiem"' in page.text
    assert MISSING_VI in page.text and 'class="notice warn"' in page.text
    page = web.get(f"/ho-so/{present['id']}")
    assert page.status_code == 200 and "thieu-rut-kinh-nghiem" not in page.text


def test_cli_documents_get_prints_one_line(tmp_path: Path):
    data_dir = tmp_path / "var"
    replicas = folder_replicas(tmp_path)
    a = make_archive(tmp_path, data_dir=data_dir, replicas=replicas)
    r = ingest(a, without_section(tmp_path))
    a.close()
    out = run_cli("documents", "get", r.document.id, env=hoso_env(data_dir, replicas=replicas)).stdout
    lines = [x for x in out.splitlines() if x.startswith("check ")]
    assert lines == [f"check rut_kinh_nghiem: missing — {MISSING_VI}"]
