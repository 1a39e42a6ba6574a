"""Access events are group-committed (archive/access_events.py): accesses waiting at the same moment share one head
lock and one commit, each caller answered only once its own event has committed, the chain one linear hash chain;
a failed commit refuses every access of its batch and writes none of them."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from archive import access_events
from archive.access_events import AccessNotRecorded, after_commit, record_access, recorder_for
from archive.audit import verify_chain
from archive.ingest import ingest_file
from archive.models import ChainHead, Event
from hoso.app import create_app
from tests.factories import auth_header, boot, issue_token, make_archive, make_pdf
from tests.processes import stop_server

WAITING = 9


def _hold_chain_head(archive):
    """Another transaction holding what every append must take: the head row's lock (PostgreSQL) or the database's
    write lock (SQLite). Returns (connection, release)."""
    conn = archive.engine.connect()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT 1 FROM event_chain_head WHERE id = 1 FOR UPDATE"))
    return conn


def _wait_until(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.mark.parametrize(("max_batch", "commits"), [(200, 2), (4, 4)])
def test_accesses_waiting_together_share_one_commit(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_batch: int, commits: int
):
    """Ten events, the nine that queue behind the leader written together: two commits (or, in batches of at most
    four, 1 + 4 + 4 + 1: four)."""
    monkeypatch.setattr(access_events, "MAX_BATCH", max_batch)
    archive = make_archive(tmp_path, database_url=db_url)
    try:
        record_access(archive.engine, "document.download")  # the head row exists from here on
        recorder = recorder_for(archive.engine)
        before = recorder.batches
        held = _hold_chain_head(archive)
        with ThreadPoolExecutor(WAITING + 1) as pool:
            first = pool.submit(record_access, archive.engine, "document.download", detail={"n": 0})
            # the first caller leads and blocks on the held lock; the others queue behind it
            _wait_until(lambda: recorder.queued() == 0 and recorder._leading)
            rest = [
                pool.submit(record_access, archive.engine, "document.download", detail={"n": n})
                for n in range(1, WAITING + 1)
            ]
            _wait_until(lambda: recorder.queued() == WAITING)
            assert not first.done()  # nobody is answered before their event has committed
            held.rollback()
            held.close()
            ids = [first.result(60)] + [f.result(60) for f in rest]
        assert recorder.batches - before == commits
        assert sorted(ids) == list(range(ids[0], ids[0] + WAITING + 1))
        with archive.sessions() as s:
            assert verify_chain(s).ok
            details = {e.id: e.detail["n"] for e in s.scalars(select(Event).where(Event.id.in_(ids)))}
        assert [details[i] for i in ids] == list(range(WAITING + 1))  # each caller got its own event's id
    finally:
        archive.close()


def _refuse_downloads(archive) -> None:
    """A real failure of the catalog: a trigger that aborts any insert of a download event."""
    with archive.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_downloads BEFORE INSERT ON events WHEN NEW.action = 'document.download' "
                "BEGIN SELECT RAISE(ABORT, 'downloads refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_downloads() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.action = 'document.download' THEN RAISE EXCEPTION 'downloads refused'; END IF; "
                "RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_downloads BEFORE INSERT ON events FOR EACH ROW "
                "EXECUTE FUNCTION refuse_downloads()"
            )


def test_a_failed_event_commit_answers_503_and_serves_no_byte(db_url: str, tmp_path: Path):
    archive = make_archive(tmp_path, database_url=db_url)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"refused")
        doc = ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        headers = auth_header(issue_token(archive).secret)
        with archive.sessions() as s:
            head = s.get(ChainHead, 1)
            head_before = (head.last_event_id, head.last_hash)
        _refuse_downloads(archive)
        app = create_app(archive.settings, archive=archive)
        url = f"/api/v1/documents/{doc.id}/content"

        def fetch(_: int):
            return TestClient(app, base_url="http://127.0.0.1").get(url, headers=headers)

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(fetch, range(6)))
        for r in answers:
            assert r.status_code == 503 and r.json()["error"] == "access_not_recorded"
            assert b"%PDF" not in r.content
        with archive.sessions() as s:
            head = s.get(ChainHead, 1)
            assert (head.last_event_id, head.last_hash) == head_before  # nothing of the batches written
            assert not s.scalars(select(Event).where(Event.action == "document.download")).all()
            assert verify_chain(s).ok
        with pytest.raises(AccessNotRecorded):
            record_access(archive.engine, "document.download", document_id=doc.id)
    finally:
        archive.close()


def test_concurrent_downloads_record_one_event_each(db_url: str, tmp_path: Path):
    archive = make_archive(tmp_path, database_url=db_url)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"concurrent")
        doc = ingest_file(
            archive, pdf, filename=pdf.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        headers = auth_header(issue_token(archive).secret)
        app = create_app(archive.settings, archive=archive)
        url = f"/api/v1/documents/{doc.id}/content"
        barrier = threading.Barrier(8)

        def fetch(_: int):
            client = TestClient(app, base_url="http://127.0.0.1")
            barrier.wait()
            return [client.get(url, headers=headers) for _ in range(3)]

        with ThreadPoolExecutor(8) as pool:
            answers = [r for rs in pool.map(fetch, range(8)) for r in rs]
        assert [r.status_code for r in answers] == [200] * 24
        assert all(r.content == pdf.read_bytes() for r in answers)
        with archive.sessions() as s:
            downloads = s.scalars(select(Event).where(Event.action == "document.download")).all()
            assert verify_chain(s).ok
        assert len(downloads) == 24 and {e.document_id for e in downloads} == {doc.id}
    finally:
        archive.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_worker_processes_keep_one_chain(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    extra = {} if backend == "sqlite" else {"HOSO_DATABASE_URL": request.getfixturevalue("pg_url")}
    server = boot(tmp_path, serve_args=["--workers", "2"], **extra)
    try:
        pdf = make_pdf(tmp_path / "hoc-ba.pdf", extra=b"two workers")
        out = server.cli(
            "ingest", str(pdf), "--school", "T01", "--type", "hoc-ba", "--year", "2024-2025", "--json"
        )
        doc_id = json.loads(out.stdout)[0]["id"]
        token = server.token()

        def fetch(_: int) -> list[int]:
            with server.client(token) as c:
                return [c.get(f"/api/v1/documents/{doc_id}/content").status_code for _ in range(4)]

        with ThreadPoolExecutor(10) as pool:
            codes = [code for codes in pool.map(fetch, range(10)) for code in codes]
        assert codes == [200] * 40
        report = json.loads(server.cli("audit", "verify", "--json").stdout)
        assert report["ok"], report
        listed = json.loads(
            server.cli("audit", "export", "--format", "json", "--action", "document.download").stdout
        )
        assert len(listed) == 40
    finally:
        stop_server(server)


def test_an_access_recorded_after_commit_waits_for_the_commit_and_fails_it_loudly(tmp_path: Path):
    """signatures._record_validation: the validation's event follows its transaction's commit (none on rollback);
    when the event cannot be written the caller's request fails (503) instead of answering unrecorded."""
    archive = make_archive(tmp_path)
    try:
        with archive.sessions() as s, s.begin():
            after_commit(s, "document.validate", document_id="committed")
        with pytest.raises(RuntimeError), archive.sessions() as s, s.begin():
            after_commit(s, "document.validate", document_id="rolled-back")
            raise RuntimeError("the work failed")
        with archive.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.document_id = 'refused' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        with pytest.raises(AccessNotRecorded), archive.sessions() as s, s.begin():
            after_commit(s, "document.validate", document_id="refused")
        with archive.sessions() as s:
            recorded = s.scalars(select(Event.document_id).where(Event.action == "document.validate")).all()
            assert verify_chain(s).ok
        assert recorded == ["committed"]
    finally:
        archive.close()


def test_a_caller_queued_behind_a_commit_that_does_not_end_is_refused_not_kept(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The leader waits on a chain head another transaction holds; a request queued behind it gives up after
    QUEUE_WAIT (503, nothing written) and the queue goes on once the head is free."""
    monkeypatch.setattr(access_events, "QUEUE_WAIT", 0.5)
    archive = make_archive(tmp_path, database_url=db_url)
    try:
        record_access(archive.engine, "document.download", document_id="first")
        recorder = recorder_for(archive.engine)
        held = _hold_chain_head(archive)
        with ThreadPoolExecutor(1) as pool:
            leader = pool.submit(record_access, archive.engine, "document.download", document_id="leader")
            _wait_until(lambda: recorder._leading)
            started = time.monotonic()
            with pytest.raises(AccessNotRecorded) as refused:
                record_access(archive.engine, "document.download", document_id="queued")
            assert isinstance(refused.value.__cause__, TimeoutError)
            assert time.monotonic() - started < 10
            assert recorder.queued() == 0 and not leader.done()
            held.rollback()
            held.close()
            assert leader.result(timeout=60) > 0
        record_access(archive.engine, "document.download", document_id="after")
        with archive.sessions() as s:
            recorded = s.scalars(select(Event.document_id).where(Event.action == "document.download")).all()
            assert verify_chain(s).ok
        assert recorded == ["first", "leader", "after"]
    finally:
        archive.close()


def test_a_chain_head_held_elsewhere_refuses_the_batch_after_the_lock_wait(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(access_events, "LOCK_WAIT", "1s")
    archive = make_archive(tmp_path, database_url=pg_url)
    try:
        record_access(archive.engine, "document.download", document_id="first")
        held = _hold_chain_head(archive)
        try:
            started = time.monotonic()
            with pytest.raises(AccessNotRecorded) as refused:
                record_access(archive.engine, "document.download", document_id="refused")
            assert "lock timeout" in str(refused.value.__cause__)
            assert time.monotonic() - started < 30
        finally:
            held.rollback()
            held.close()
        with archive.sessions() as s:
            recorded = s.scalars(select(Event.document_id).where(Event.action == "document.download")).all()
        assert recorded == ["first"]
    finally:
        archive.close()
