"""Nothing lost by a rebuild (issue 12): a school's locked year, a legal hold, a withdrawal, an edit of details and a
retention confirmation are written to every replica as state records; after the catalog is deleted and rebuilt from
one replica, all of them are enforced again. (Corrections and chains: tests/integration/corrections/test_rebuild_corrections.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import accounts, locks, orgs, record_changes
from archive.context import Archive
from archive.errors import Conflict, NotFound
from archive.finding import DocumentFilter, ensure_visible, find_documents
from archive.ingest import ingest_file
from archive.models import Document, RecordLock, StoredObject, User
from hoso.bootstrap import build_archive
from retention.holds import place_hold, release_hold
from retention.models import LegalHold, RetentionRule
from retention.rebuild import rebuild_catalog
from retention.schedules import confirm_rule
from tests.factories import add_person, folder_replicas, make_archive, make_pdf, make_settings, seed_world

from .test_rebuild_catalog import wipe


def _ingest(a: Archive, tmp: Path, name: str, type_code: str, **kw: object) -> str:
    path = make_pdf(tmp / f"{name}.pdf", extra=name.encode())
    return ingest_file(
        a,
        path,
        filename=path.name,
        school="C01",
        type_code=type_code,
        year="2024-2025",
        title=name,
        **kw,  # type: ignore[arg-type]
    ).document.id


def test_locks_holds_withdrawals_and_edits_survive_a_rebuild(tmp_path: Path, db_url: str):
    a = make_archive(
        tmp_path, seed=seed_world, database_url=db_url, replicas=folder_replicas(tmp_path / "stores")
    )
    with a.sessions() as s:
        gvbm, principal = accounts.get_user(s, "gvbm"), accounts.get_user(s, "hieutruong")
        s.expunge_all()
    transcript = _ingest(a, tmp_path, "Học bạ 6A", "hoc-ba")
    held = _ingest(a, tmp_path, "Sổ đăng bộ", "so-dang-bo")
    plan = _ingest(a, tmp_path, "Kế hoạch bài dạy Toán 6", "ke-hoach-bai-day", class_name="6A", actor=gvbm)
    wrong = _ingest(a, tmp_path, "Tải nhầm", "ke-hoach-bai-day", actor=gvbm)
    with a.sessions() as s, s.begin():
        c01 = orgs.get_organisation(s, "C01")
        hieutruong = accounts.get_user(s, "hieutruong")
        locks.add_lock(
            s, school=c01, type_code="hoc-ba", year="2024-2025", actor=hieutruong, reason="cuối năm"
        )
        # locked then unlocked: the rebuilt catalog must not lock it
        locks.add_lock(s, school=c01, type_code="so-ghi-dau-bai", year="2024-2025", actor=hieutruong)
        locks.remove_lock(s, school=c01, type_code="so-ghi-dau-bai", year="2024-2025", actor=hieutruong)
    place_hold(a, document_id=held, reason="inspection", reference="QĐ 12/TTr", user=principal)
    released = place_hold(a, document_id=transcript, reason="complaint", reference="KN 3", user=principal)
    release_hold(a, hold_id=released.hold.id, user=principal, note="đã giải quyết")
    with a.sessions() as s, s.begin():
        teacher = accounts.get_user(s, "gvbm")
        doc = s.get(Document, plan)
        assert doc is not None
        record_changes.edit_details(s, doc, actor=teacher, values={"class_name": "6B"}, reason="nhầm lớp")
        mistake = s.get(Document, wrong)
        assert mistake is not None
        record_changes.withdraw(s, mistake, actor=teacher, reason="tải nhầm")
        confirm_rule(
            s,
            type_code="so-ghi-dau-bai",
            retention="5 năm",
            source="TT 27/2016 Mục 58",
            user=accounts.get_user(s, "admin"),
        )
    with a.sessions() as s:
        records = s.scalars(select(StoredObject.key).where(StoredObject.kind == "record")).all()
    # 3 lock changes, 2 holds placed and 1 released, an edit, a withdrawal, a confirmation, and the 4 signing chains
    # opened by the uploads (hoc-ba, so-dang-bo, two lesson plans)
    assert len(records) == 13
    db_url, replicas = a.settings.resolved_database_url, a.settings.replica_urls
    a.close()
    wipe(db_url)

    fresh = build_archive(make_settings(tmp_path, database_url=db_url, replicas=replicas), migrate=True)
    try:
        report = rebuild_catalog(fresh, replicas[2])
        assert report.ok and report.state_records == 13 and report.unmatched_records == ()
        with fresh.sessions() as s:
            lock_rows = s.scalars(select(RecordLock)).all()
            assert [(r.type_code, r.school_year, r.reason) for r in lock_rows] == [
                ("hoc-ba", "2024-2025", "cuối năm")
            ]
            assert lock_rows[0].locked_by is not None and lock_rows[0].locked_by.username == "hieutruong"
            holds = {h.document_id: h for h in s.scalars(select(LegalHold))}
            assert holds[held].released_at is None and holds[held].reference == "QĐ 12/TTr"
            assert holds[transcript].released_at is not None
            doc = s.get(Document, plan)
            assert doc is not None and doc.class_name == "6B"
            assert [(c.field, c.old_value, c.new_value) for c in record_changes.history(s, plan)] == [
                ("class_name", "6A", "6B")
            ]
            mistake = s.get(Document, wrong)
            assert mistake is not None and mistake.status == "withdrawn"
            with pytest.raises(NotFound):
                ensure_visible(s, _inspector(s), mistake)
            assert wrong not in {d.id for d in find_documents(s, DocumentFilter(), school_ids=None)[0]}
            copies = s.scalars(select(StoredObject).where(StoredObject.kind == "record")).all()
            assert len(copies) == 13
            # the confirmed retention is in force again (an unconfirmed row would count as permanent)
            rule = s.scalar(
                select(RetentionRule).where(
                    RetentionRule.type_code == "so-ghi-dau-bai", RetentionRule.superseded_at.is_(None),
                    RetentionRule.status == "sourced", RetentionRule.source == "TT 27/2016 Mục 58",
                )
            )  # fmt: skip
            assert rule is not None and rule.retention == "5 years"
        # the lock is enforced again: the finished year does not reopen
        with pytest.raises(Conflict) as ei:
            _ingest(fresh, tmp_path, "Học bạ 6B", "hoc-ba")
        assert ei.value.code == "locked"
        _ingest(fresh, tmp_path, "Sổ ghi đầu bài", "so-ghi-dau-bai")  # unlocked before the loss: open
    finally:
        fresh.close()


def _inspector(s: Session) -> User:
    """An inspector of C01's Phòng, created in the rebuilt catalog (people are not in the replicas)."""
    return add_person(s, "thanhtra.moi", ("inspector_phong", "79-Q1"))
