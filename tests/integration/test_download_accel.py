"""X-Accel-Redirect (HOSO_DOWNLOAD_ACCEL_PREFIX): hoso authorises, verifies and records a download, then hands the
reverse proxy the path of a folder copy that has just hashed right; never a damaged one, never before the event."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from archive.ingest import ingest_file
from archive.models import Event
from tests.factories import auth_header, issue_token, make_archive, make_pdf, seed_world_with_passwords
from tests.integration.people.helpers import client_for, login

PREFIX = "/_hoso_files"


def _archive(tmp_path: Path, **overrides: object):
    replicas = [f"file://{tmp_path / 'replicas' / f'copy{i}'}" for i in range(3)]
    return make_archive(tmp_path, replicas=replicas, download_accel_prefix=PREFIX, **overrides)


def _copy_path(archive, index: int, sha: str) -> Path:
    return archive.replicas.stores[index].root / "content" / sha[:2] / sha


def _ingest(archive, tmp_path: Path, school: str = "T01"):
    pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"accel")
    doc = ingest_file(archive, pdf, filename=pdf.name, school=school, type_code="hoc-ba", year="2024-2025")
    return doc.document, pdf.read_bytes()


def _handed_over(r) -> Path:
    assert r.headers["X-Accel-Redirect"].startswith(PREFIX + "/")
    return Path(unquote(r.headers["X-Accel-Redirect"][len(PREFIX) :]))


def test_the_proxy_is_handed_a_verified_copy_after_the_event(tmp_path: Path):
    archive = _archive(tmp_path)
    try:
        doc, data = _ingest(archive, tmp_path)
        sha = hashlib.sha256(data).hexdigest()
        r = client_for(archive).get(
            f"/api/v1/documents/{doc.id}/content", headers=auth_header(issue_token(archive).secret)
        )
        assert r.status_code == 200 and r.content == b""  # the proxy sends the bytes
        assert (
            _handed_over(r) == _copy_path(archive, 0, sha)
            and _copy_path(archive, 0, sha).read_bytes() == data
        )
        assert r.headers["X-Content-SHA256"] == sha and r.headers["Content-Type"] == "application/pdf"
        assert r.headers["Content-Disposition"].startswith("attachment;")
        with archive.sessions() as s:
            download = s.scalars(select(Event).where(Event.action == "document.download")).one()
        assert download.detail["store"] == archive.replicas.stores[0].url
    finally:
        archive.close()


def test_a_damaged_copy_is_never_handed_to_the_proxy(tmp_path: Path):
    archive = _archive(tmp_path)
    try:
        doc, data = _ingest(archive, tmp_path)
        sha = hashlib.sha256(data).hexdigest()
        # damage in place, same size (what a rename-free write or bit rot leaves behind)
        first = _copy_path(archive, 0, sha)
        first.chmod(0o644)
        first.write_bytes(data[:-8] + b"DAMAGED!")
        client = client_for(archive)
        headers = auth_header(issue_token(archive).secret)
        r = client.get(f"/api/v1/documents/{doc.id}/content", headers=headers)
        assert r.status_code == 200 and _handed_over(r) == _copy_path(archive, 1, sha)
        with archive.sessions() as s:
            damage = s.scalars(select(Event).where(Event.action == "replica.damage")).all()
        assert [e.detail["store"] for e in damage] == [archive.replicas.stores[0].url]
        for i in (1, 2):
            path = _copy_path(archive, i, sha)
            path.chmod(0o644)
            path.write_bytes(b"%PDF-1.7 not the archived file")
        r = client.get(f"/api/v1/documents/{doc.id}/content", headers=headers)
        assert r.status_code == 503 and r.json()["error"] == "no_intact_copy"
        assert "X-Accel-Redirect" not in r.headers
        with archive.sessions() as s:
            downloads = s.scalars(select(Event).where(Event.action == "document.download")).all()
        assert len(downloads) == 1  # the refused one was not recorded as a download
    finally:
        archive.close()


def test_the_web_download_hands_over_the_same_way(tmp_path: Path):
    archive = _archive(tmp_path, seed=seed_world_with_passwords)
    try:
        doc, data = _ingest(archive, tmp_path, school="C01")
        client = client_for(archive)
        login(client, "hieutruong")
        r = client.get(f"/ho-so/{doc.id}/tai-ve")
        assert r.status_code == 200 and r.content == b""
        assert _handed_over(r).read_bytes() == data
    finally:
        archive.close()


def test_off_by_default_and_a_bad_prefix_is_refused(tmp_path: Path):
    from pydantic import ValidationError

    from archive.settings import Settings

    assert Settings(data_dir=tmp_path).download_accel_prefix == ""
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, download_accel_prefix="_hoso files/")
