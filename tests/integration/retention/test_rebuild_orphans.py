"""Rebuild after a crash between the manifest and the commit: the uncommitted upload and its retry are one document."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import uuid
from pathlib import Path

from archive.context import Archive
from archive.ingest import add_version
from archive.manifests import manifest_key, serialise
from archive.models import Document
from hoso.bootstrap import build_archive
from retention.rebuild import SkippedOrphan, rebuild_catalog
from storage import content_key
from tests.factories import folder_replicas, hoso_env, make_pdf, make_settings
from tests.processes import run_cli

from .conftest import ingest_pdf
from .test_rebuild_catalog import wipe

COMMON = ("--school", "T01", "--type", "hoc-ba", "--year", "2024-2025", "--json")


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    return hoso_env(
        tmp_path / "var", database_url=db_url, replicas=folder_replicas(tmp_path / "stores"), **extra
    )


def _killed_ingest(tmp_path: Path, db_url: str, pdf: Path) -> str:
    """Ingest through the CLI, killed just before the commit; returns the document id of the orphan manifest."""
    env = _env(tmp_path, db_url)
    store = tmp_path / "stores" / "copy1" / "manifests"
    before = {p.name for p in store.iterdir()} if store.is_dir() else set()
    crashed = run_cli(
        "ingest",
        str(pdf),
        *COMMON,
        env=_env(tmp_path, db_url, HOSO_FAULT_INJECT="before-commit"),
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL
    assert json.loads(run_cli("documents", "list", "--json", env=env).stdout)["total"] == 0
    (orphan,) = {p.name for p in store.iterdir()} - before
    return orphan


def _setup(tmp_path: Path, db_url: str) -> dict[str, str]:
    env = _env(tmp_path, db_url)
    run_cli("db", "upgrade", env=env)
    run_cli("org", "add", "T01", "--name", "Trường THCS Thử", "--kind", "truong", "--level", "THCS", env=env)
    return env


def test_rebuild_keeps_the_retry_and_names_the_killed_upload(tmp_path: Path, db_url: str):
    env = _setup(tmp_path, db_url)
    pdf = make_pdf(tmp_path / "Học bạ 9A.pdf", pages=2, extra=b"crash-then-retry")
    orphan_id = _killed_ingest(tmp_path, db_url, pdf)
    retry = json.loads(run_cli("ingest", str(pdf), *COMMON, env=env).stdout)[0]
    assert retry["created"] is True and retry["id"] != orphan_id  # the retry made a second document id

    wipe(db_url)
    done = run_cli("catalog", "rebuild", "--from", folder_replicas(tmp_path / "stores")[1], "--json", env=env)
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["documents"] == 1 and report["versions"] == 1
    assert report["skipped_orphans"] == [
        {
            "document_id": orphan_id,
            "manifest_key": manifest_key(orphan_id, 1),
            "kept_document_id": retry["id"],
        }
    ]
    listed = json.loads(run_cli("documents", "list", "--json", env=env).stdout)
    assert listed["total"] == 1 and [d["id"] for d in listed["items"]] == [retry["id"]]
    out = tmp_path / "back.pdf"
    run_cli("documents", "content", retry["id"], "--out", str(out), env=env)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(pdf.read_bytes()).hexdigest()


def test_a_lone_uncommitted_upload_is_still_rebuilt(tmp_path: Path, db_url: str):
    env = _setup(tmp_path, db_url)
    pdf = make_pdf(tmp_path / "Học bạ 9B.pdf", extra=b"crash-no-retry")
    orphan_id = _killed_ingest(tmp_path, db_url, pdf)

    wipe(db_url)
    done = run_cli("catalog", "rebuild", "--from", folder_replicas(tmp_path / "stores")[0], "--json", env=env)
    report = json.loads(done.stdout)
    assert report["documents"] == 1 and report["skipped_orphans"] == []
    listed = json.loads(run_cli("documents", "list", "--json", env=env).stdout)
    assert [d["id"] for d in listed["items"]] == [orphan_id]  # its bytes were stored and verified: kept


def test_more_versions_win_over_a_later_orphan(catalog: Archive, tmp_path: Path):
    """A committed document with two versions beats a later version-1 manifest of the same upload."""
    a = catalog
    r = ingest_pdf(a, tmp_path, type_code="hoc-ba")
    data = make_pdf(tmp_path / "v2.pdf", text="phiên bản 2").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    results = a.replicas.put_bytes(content_key(sha), data, sha)
    with a.sessions() as s, s.begin():
        doc = s.get(Document, r.document.id)
        assert doc is not None
        add_version(
            a, s, doc, sha256=sha, size=len(data), media_type="application/pdf", filename="v2.pdf",
            page_count=1, signed=False, validation=None, reason="sửa", actor=None, content_results=results,
            event="document.version",
        )  # fmt: skip
    source = a.replicas.stores[0]
    with source.get(manifest_key(r.document.id, 1)) as f:
        body = json.loads(f.read())
    late_id = str(uuid.uuid4())
    body["document"]["id"] = late_id
    body["document"]["created_at"] = "2099-01-01T00:00:00+00:00"  # later than the committed one
    late, late_sha = serialise(body)
    source.put(manifest_key(late_id, 1), io.BytesIO(late), late_sha)

    fresh = build_archive(make_settings(tmp_path / "fresh", replicas=[source.url]), migrate=True)
    try:
        report = rebuild_catalog(fresh, source.url)
        with fresh.sessions() as s:
            ids = [d.id for d in s.query(Document)]
    finally:
        fresh.close()
    assert report.ok and report.documents == 1 and report.versions == 2
    assert report.skipped_orphans == (SkippedOrphan(late_id, manifest_key(late_id, 1), r.document.id),)
    assert ids == [r.document.id]
