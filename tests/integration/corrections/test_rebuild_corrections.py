"""Nothing lost by a rebuild (issue 12 item 9): a school with a locked year, a legal hold and a completed correction
(with its biên bản, half-way through its signing chain) loses its catalog; rebuilt from one replica, all three are
enforced again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from archive import accounts, chains, corrections
from archive.errors import Conflict
from archive.ingest import ingest_file
from archive.models import StoredObject
from hoso.bootstrap import build_archive
from retention.disposal import due_documents
from retention.holds import place_hold
from retention.rebuild import rebuild_catalog
from storage import content_key
from tests.factories import folder_replicas, make_archive, make_pdf, make_settings, seed_world

from ..retention.test_rebuild_catalog import wipe
from .helpers import apply, complete, locked_record


def _register(a, tmp: Path, name: str) -> str:
    path = make_pdf(tmp / f"{name}.pdf", extra=name.encode())
    return ingest_file(
        a, path, filename=path.name, school="T01", type_code="so-ghi-dau-bai", year="2018-2019", title=name
    ).document.id


def test_a_locked_year_a_hold_and_a_correction_survive_a_rebuild(tmp_path: Path, db_url: str):
    a = make_archive(
        tmp_path, seed=seed_world, database_url=db_url, replicas=folder_replicas(tmp_path / "stores")
    )
    doc_id = locked_record(a, tmp_path)
    correction_id, record_id = complete(a, tmp_path, doc_id)
    # the requester signs the biên bản's first step: the chain's state must come back too
    with a.sessions() as s, s.begin():
        record = s.get(chains.Document, record_id)
        assert record is not None
        row = chains.claim(s, record, accounts.get_user(s, "gvbm"))
        assert row is not None
        chains.record_signed(s, record, row.id, accounts.get_user(s, "gvbm"), 2)
    held, free = _register(a, tmp_path, "Sổ ghi đầu bài 6A"), _register(a, tmp_path, "Sổ ghi đầu bài 6B")
    with a.sessions() as s:
        principal = accounts.get_user(s, "admin")
        s.expunge(principal)
    place_hold(a, document_id=held, reason="inspection", reference="QĐ 12/TTr", user=principal)
    with a.sessions() as s:
        before = {d.document_id for d in due_documents(s, date(2026, 3, 1))}
        evidence = [e.sha256 for e in corrections.get_request(s, correction_id).evidence]
    assert free in before and held not in before
    db_url, replicas = a.settings.resolved_database_url, a.settings.replica_urls
    a.close()
    wipe(db_url)

    fresh = build_archive(make_settings(tmp_path, database_url=db_url, replicas=replicas), migrate=True)
    try:
        report = rebuild_catalog(fresh, replicas[1])
        assert report.ok and report.unmatched_records == (), report
        with fresh.sessions() as s:
            # the correction is shown again, consumed, with its biên bản and its evidence tracked in the replicas
            [fix] = corrections.of_document(s, doc_id)
            assert (fix.status, fix.applied_version, fix.record_document_id) == ("applied", 2, record_id)
            assert fix.requested_by.username == "gvbm" and fix.decided_by is not None
            assert fix.decided_by.username == "hieutruong"
            assert [e.sha256 for e in fix.evidence] == evidence
            for sha in evidence:
                assert (
                    s.scalar(select(StoredObject.id).where(StoredObject.key == content_key(sha))) is not None
                )
            # the biên bản's chain: the requester has signed, the administrator is waited for
            steps = [(r.who, r.status) for r in chains.requests_of(s, record_id)]
            assert steps == [("requester", "signed"), ("administrator", "waiting"), ("principal", "pending")]
            # the hold blocks disposal again
            after = {d.document_id for d in due_documents(s, date(2026, 3, 1))}
            assert free in after and held not in after
        # the locked year refuses a new version, and the consumed correction does not reopen it
        with pytest.raises(Conflict) as ei:
            locked_record(fresh, tmp_path, "Sổ theo dõi đánh giá lớp 6B")
        assert ei.value.code == "locked"
        with pytest.raises(Conflict) as again:
            apply(fresh, tmp_path, doc_id, correction_id)
        assert again.value.code == "correction_not_approved"
    finally:
        fresh.close()
