"""The download path kept lean (issue 15): still one `document.download` event per download, a token's "last used"
written at most once a minute (not a row lock per request), a damaged copy never served, and `hoso serve
--workers N` serving from several processes. Speed itself is measured in bench/bench_downloads.py."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select

from archive import accounts
from archive.db import utcnow
from archive.ingest import ingest_file
from archive.models import ApiToken, Event
from tests.factories import auth_header, boot, issue_token, make_archive, make_pdf
from tests.integration.people.helpers import client_for
from tests.processes import stop_server


def _last_used(archive, token_id):
    with archive.sessions() as s:
        return s.get(ApiToken, token_id).last_used_at


def test_downloads_are_recorded_and_the_token_row_is_written_once_a_minute(db_url: str, tmp_path: Path):
    archive = make_archive(tmp_path, database_url=db_url)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"download")
        doc = ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        token = issue_token(archive)
        c = client_for(archive)
        url = f"/api/v1/documents/{doc.id}/content"
        used = []
        for _ in range(3):
            r = c.get(url, headers=auth_header(token.secret))
            assert r.status_code == 200 and r.content == pdf.read_bytes()
            assert r.headers["X-Content-SHA256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
            used.append(_last_used(archive, token.token.id))
        with archive.sessions() as s:
            downloads = s.scalars(select(Event).where(Event.action == "document.download")).all()
        assert [(e.actor, e.document_id) for e in downloads] == [("admin", doc.id)] * 3
        first = used[0]
        assert first is not None and used == [first] * 3  # three requests, one write of the token's row
        with archive.sessions() as s, s.begin():
            s.get(ApiToken, token.token.id).last_used_at = (
                utcnow() - accounts.LAST_USED_RESOLUTION - timedelta(1)
            )
        assert c.get(url, headers=auth_header(token.secret)).status_code == 200
        assert _last_used(archive, token.token.id) > first  # a stale "last used" is refreshed
    finally:
        archive.close()


def test_a_damaged_copy_is_never_served_and_is_recorded(tmp_path: Path):
    archive = make_archive(tmp_path)
    try:
        pdf = make_pdf(tmp_path / "so-dang-bo.pdf", extra=b"damaged")
        doc = ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        version = doc.current
        first = archive.replicas.stores[0]
        first.corrupt(f"content/{version.sha256[:2]}/{version.sha256}", b"%PDF-1.7 not the archived file")
        r = client_for(archive).get(
            f"/api/v1/documents/{doc.id}/content", headers=auth_header(issue_token(archive).secret)
        )
        assert r.status_code == 200 and r.content == pdf.read_bytes()
        with archive.sessions() as s:
            actions = s.scalars(select(Event.action).order_by(Event.id)).all()
            download = s.scalars(select(Event).where(Event.action == "document.download")).one()
        assert "replica.damage" in actions
        assert download.detail["store"] != first.url  # served from an intact copy
    finally:
        archive.close()


def test_serve_with_two_workers_answers_downloads(pg_url: str, tmp_path: Path):
    server = boot(tmp_path, serve_args=["--workers", "2"], HOSO_DATABASE_URL=pg_url)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"workers")
        out = server.cli(
            "ingest", str(pdf), "--school", "T01", "--type", "hoc-ba", "--year", "2024-2025", "--json"
        )
        doc_id = json.loads(out.stdout)[0]["id"]
        with server.client(server.token()) as c:
            for _ in range(6):
                r = c.get(f"/api/v1/documents/{doc_id}/content")
                assert r.status_code == 200 and r.content == pdf.read_bytes()
        assert server.log.read_text().count("Started server process") == 2  # uvicorn's line, once per worker
    finally:
        stop_server(server)


def test_a_download_reads_the_catalog_in_one_statement_and_appends_its_event_in_one_batch(
    db_url: str, tmp_path: Path
):
    archive = make_archive(tmp_path, database_url=db_url)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"statements")
        doc = ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        headers = auth_header(issue_token(archive).secret)
        c = client_for(archive)
        url = f"/api/v1/documents/{doc.id}/content"
        assert c.get(url, headers=headers).status_code == 200  # the token's "last used" is written once, here
        statements: list[str] = []

        def count(conn, cursor, statement, params, context, executemany):
            statements.append(" ".join(statement.split()).upper())

        event.listen(archive.engine, "before_cursor_execute", count)
        try:
            assert c.get(url, headers=headers).status_code == 200
        finally:
            event.remove(archive.engine, "before_cursor_execute", count)
        catalog = [
            s
            for s in statements
            if "FROM DOCUMENTS" in s or "FROM ORGANISATIONS" in s or "FROM VERSIONS" in s
        ]
        assert len(catalog) == 1, statements  # the document with its school and versions: one round trip
        tokens = [s for s in statements if "API_TOKENS" in s]
        assert len(tokens) == 1 and tokens[0].startswith("SELECT"), statements
        chain = [s for s in statements if "EVENT_CHAIN_HEAD" in s or "INTO EVENTS" in s]
        assert len(chain) == 3, statements  # head locked and read, the event, the head moved on
        # + SQLite's BEGIN IMMEDIATE, or PostgreSQL's bound on the wait for the head (SET LOCAL lock_timeout)
        assert len(statements) == 6, statements
    finally:
        archive.close()


def test_a_revoked_token_is_refused_at_once(tmp_path: Path):
    """No per-process cache of tokens: revocation takes effect on the very next request (bound: none)."""
    archive = make_archive(tmp_path)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"revoked")
        doc = ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        issued = issue_token(archive)
        c = client_for(archive)
        url = f"/api/v1/documents/{doc.id}/content"
        assert c.get(url, headers=auth_header(issued.secret)).status_code == 200
        with archive.sessions() as s, s.begin():
            accounts.revoke_token(s, s.get(ApiToken, issued.token.id))
        r = c.get(url, headers=auth_header(issued.secret))
        assert r.status_code == 401 and b"%PDF" not in r.content
        with archive.sessions() as s:
            downloads = s.scalars(select(Event).where(Event.action == "document.download")).all()
        assert len(downloads) == 1
    finally:
        archive.close()
