"""Catalog rebuild: delete the database, rebuild from one folder replica, find everything again."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from sqlalchemy import select, text

from archive.accounts import create_user
from archive.context import Archive
from archive.db import make_engine
from archive.errors import Conflict
from archive.ingest import add_version
from archive.manifests import manifest_key
from archive.models import Document, Event, Organisation, ReplicaCopy, StoredObject, User
from hoso.bootstrap import build_archive
from retention.backup import export_key, export_metadata
from retention.rebuild import rebuild_catalog
from storage import content_key, open_store
from tests.factories import make_pdf, make_settings

from .conftest import ingest_pdf

VALIDATION = {
    "verdict": "TOTAL_PASSED",
    "verdict_vi": "Hợp lệ",
    "signatures": [{"verdict": "TOTAL_PASSED", "signer": "Nguyễn Văn An", "intact": True, "trusted": True}],
}


def signed_pdf(path: Path) -> Path:
    """A PDF with a filled signature field: enough for ingest to mark it signed (the report comes from archive.signing.validate)."""
    make_pdf(path, text="Học bạ đã ký")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        sig = pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"))
        )
        field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("Sig1"), V=sig))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]), SigFlags=3)
        pdf.save(path)
    return path


def snapshot(a: Archive) -> dict[str, Any]:
    with a.sessions() as s:
        docs = {}
        for d in s.scalars(select(Document)):
            docs[d.id] = {
                "school": d.school.code,
                "parent": d.school.parent.code if d.school.parent else None,
                "type": d.type_code,
                "year": d.school_year,
                "title": d.title,
                "class_name": d.class_name,
                "created_by": d.created_by.username if d.created_by else None,
                "versions": [
                    (
                        v.number,
                        v.sha256,
                        v.size,
                        v.media_type,
                        v.original_filename,
                        v.page_count,
                        v.created_at.isoformat(),
                        v.created_by.username if v.created_by else None,
                        v.reason,
                        v.signed,
                        json.dumps(v.validation, sort_keys=True),
                        v.manifest_sha256,
                        v.previous_manifest_sha256,
                    )
                    for v in d.versions
                ],
            }
        orgs = {
            o.code: (o.name, o.kind, o.level, o.parent.code if o.parent else None)
            for o in s.scalars(select(Organisation))
        }
        objects = {o.key: (o.sha256, o.size, o.kind) for o in s.scalars(select(StoredObject))}
    return {"docs": docs, "orgs": orgs, "objects": objects}


def wipe(url: str) -> None:
    """Delete the catalog database (the disaster the rebuild is for)."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def test_rebuild_from_one_folder_replica_finds_everything(folder_catalog: Archive, tmp_path: Path):
    a = folder_catalog
    with a.sessions() as s, s.begin():
        teacher = create_user(s, username="gv.lan", full_name="Trần Thị Lan")
        s.expunge(teacher)
    a.signing.validate = lambda data, at=None: VALIDATION  # type: ignore[method-assign,union-attr]
    plain = ingest_pdf(a, tmp_path, year="2023-2024", title="Sổ ghi đầu bài 10A1")
    signed = ingest_pdf(
        a, tmp_path, type_code="hoc-ba", school="C01", data=signed_pdf(tmp_path / "Học bạ.pdf")
    )
    assert signed.version.signed and signed.version.validation == VALIDATION
    # a second version of the first document (a signed copy), through the one way versions are added
    v2 = signed_pdf(tmp_path / "Sổ ghi đầu bài (đã ký).pdf")
    data = v2.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    results = a.replicas.put_file(content_key(sha), v2, sha)
    with a.sessions() as s, s.begin():
        doc = s.get(Document, plain.document.id)
        assert doc is not None
        add_version(
            a,
            s,
            doc,
            sha256=sha,
            size=len(data),
            media_type="application/pdf",
            filename=v2.name,
            page_count=1,
            signed=True,
            validation=VALIDATION,
            reason="Ký số",
            actor=s.get(User, teacher.id),
            content_results=results,
            event="document.sign",
        )
    export = export_metadata(a, date(2026, 1, 5))
    before = snapshot(a)
    assert len(before["docs"]) == 2 and len(before["docs"][plain.document.id]["versions"]) == 2

    db_url = a.settings.resolved_database_url
    replicas = a.settings.replica_urls
    a.close()
    wipe(db_url)

    fresh = build_archive(make_settings(tmp_path, database_url=db_url, replicas=replicas), migrate=True)
    try:
        report = rebuild_catalog(fresh, replicas[1])
        assert report.ok, report
        assert (report.documents, report.versions, report.exports) == (2, 3, 1)
        assert report.users_created == ("gv.lan",)
        after = snapshot(fresh)
        assert after == before
        with fresh.sessions() as s:
            placeholder = s.scalar(select(User).where(User.username == "gv.lan"))
            assert placeholder is not None and not placeholder.is_active and placeholder.password_hash is None
            copies = {(c.object.key, c.store_url): c.state for c in s.scalars(select(ReplicaCopy))}
            assert s.scalar(select(Event).where(Event.action == "catalog.rebuild")) is not None
        key = content_key(signed.version.sha256)
        assert copies[(key, replicas[1])] == "ok"
        assert copies[(key, replicas[0])] == copies[(key, replicas[2])] == "pending"
        assert copies[(export.key, replicas[1])] == "ok" and export.key == export_key(date(2026, 1, 5))
        assert copies[(manifest_key(plain.document.id, 2), replicas[1])] == "ok"
        # a second rebuild into the now full catalog is refused
        with pytest.raises(Conflict) as e:
            rebuild_catalog(fresh, replicas[0])
        assert e.value.code == "catalog_not_empty"
    finally:
        fresh.close()


def test_rebuild_reports_chain_breaks_and_missing_content(catalog: Archive, tmp_path: Path):
    a = catalog
    r = ingest_pdf(a, tmp_path)
    doc_id = r.document.id
    with a.sessions() as s, s.begin():
        doc = s.get(Document, doc_id)
        assert doc is not None
        data = make_pdf(tmp_path / "v2.pdf", text="phiên bản 2").read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        res = a.replicas.put_bytes(content_key(sha), data, sha)
        add_version(
            a,
            s,
            doc,
            sha256=sha,
            size=len(data),
            media_type="application/pdf",
            filename="v2.pdf",
            page_count=1,
            signed=False,
            validation=None,
            reason="sửa",
            actor=None,
            content_results=res,
            event="document.version",
        )
    # a damaged replica: version 2's manifest names the wrong predecessor, version 1's content is gone
    src = a.replicas.stores[0]
    damaged = open_store(f"memory://damaged-{doc_id}")
    for key in (manifest_key(doc_id, 1), manifest_key(doc_id, 2), content_key(sha)):
        body = src.get(key).read()
        if key == manifest_key(doc_id, 2):
            m = json.loads(body)
            m["previous_manifest_sha256"] = "0" * 64
            body = json.dumps(m).encode()
        damaged.put(key, io.BytesIO(body), hashlib.sha256(body).hexdigest())
    damaged.put("manifests/not-a-manifest.txt", io.BytesIO(b"x"), hashlib.sha256(b"x").hexdigest())

    fresh = build_archive(make_settings(tmp_path / "fresh", replicas=[damaged.url]), migrate=True)
    try:
        report = rebuild_catalog(fresh, damaged.url)
    finally:
        fresh.close()
    assert not report.ok
    assert [(b.document_id, b.number) for b in report.chain_breaks] == [(doc_id, 2)]
    assert report.chain_breaks[0].found_previous == "0" * 64
    assert [(b.key, b.state) for b in report.bad_copies] == [(content_key(r.version.sha256), "missing")]
    assert report.unreadable == ("manifests/not-a-manifest.txt",)
    assert report.versions == 2
