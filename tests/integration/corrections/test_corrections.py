"""The correction procedure of CV 1370 Phụ lục II.2 on a locked record: request with evidence, the principal's
decision, exactly one corrected version, the biên bản filed and waiting for its three signers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from archive import accounts, chains, corrections, record_changes
from archive.context import Archive
from archive.documents import get_document
from archive.errors import Conflict, InvalidInput, PermissionDenied
from archive.models import Event, StoredObject
from storage import content_key
from tests.factories import make_archive, seed_world

from .helpers import apply, approve, evidence, locked_record, request


@pytest.fixture
def school(tmp_path: Path, db_url: str):
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    yield a
    a.close()


def test_an_approved_correction_lets_one_version_in_and_files_the_bien_ban(school: Archive, tmp_path: Path):
    doc_id = locked_record(school, tmp_path)
    req = request(school, tmp_path, doc_id)
    with school.sessions() as s:
        assert corrections.get_request(s, req.id).status == "requested"
        # the evidence is in every replica and tracked like any content
        for e in corrections.get_request(s, req.id).evidence:
            obj = s.scalar(select(StoredObject).where(StoredObject.key == content_key(e.sha256)))
            assert obj is not None and len([c for c in obj.copies if c.state == "ok"]) == 3
    # not approved yet: the lock holds even for the requester
    with pytest.raises(Conflict) as ei:
        apply(school, tmp_path, doc_id, req.id)
    assert ei.value.code == "correction_not_approved"
    approve(school, req.id)
    # another teacher may not use someone else's approval
    with pytest.raises(PermissionDenied) as denied:
        apply(school, tmp_path, doc_id, req.id, who="gvcn")
    assert denied.value.code == "not_your_correction"
    assert apply(school, tmp_path, doc_id, req.id) == 2
    # consumed: the same approval does not let a second version in
    with pytest.raises(Conflict) as again:
        apply(school, tmp_path, doc_id, req.id)
    assert again.value.code == "correction_not_approved"
    from retention.correction_record import file_record

    record_id = file_record(school, req.id)
    assert record_id is not None and file_record(school, req.id) == record_id  # filed once
    with school.sessions() as s:
        done = corrections.get_request(s, req.id)
        assert (done.status, done.applied_version, done.record_document_id) == ("applied", 2, record_id)
        record = get_document(s, record_id)
        assert record.type_code == "bien-ban-chinh-sua-du-lieu" and record.school_year == "2024-2025"
        rows = chains.requests_of(s, record_id)
        assert [(r.who, r.user.username if r.user else None, r.status) for r in rows] == [
            ("requester", "gvbm", "waiting"),
            ("administrator", "quantri", "pending"),
            ("principal", "hieutruong", "pending"),
        ]
        # the biên bản itself is not the office's to edit, replace or withdraw
        office = accounts.get_user(s, "vanthu")
        assert not record_changes.may_change(s, office, record)
        with pytest.raises(Conflict) as fixed:
            record_changes.withdraw(s, record, actor=office, reason="thử")
        assert fixed.value.code == "system_record"
        events = set(s.scalars(select(Event.action).where(Event.document_id == doc_id)))
        assert {"correction.request", "correction.approve", "correction.apply", "correction.record"} <= events


def test_requests_are_refused_when_they_should_be(school: Archive, tmp_path: Path):
    doc_id = locked_record(school, tmp_path)
    with school.sessions() as s:
        inspector = accounts.get_user(s, "thanhtraphong")
        s.expunge(inspector)
    with pytest.raises(PermissionDenied):
        corrections.file_request(
            school, doc_id, actor=inspector, wrong="a", should_be="b", why="c", evidence=evidence(tmp_path)
        )
    with school.sessions() as s:
        teacher = accounts.get_user(s, "gvbm")
        s.expunge(teacher)
    with pytest.raises(InvalidInput) as ei:
        corrections.file_request(
            school, doc_id, actor=teacher, wrong="a", should_be="b", why="c", evidence=[]
        )
    assert ei.value.code == "evidence_required"
    bad = tmp_path / "virus.exe"
    bad.write_bytes(b"MZ" + b"\0" * 100)
    from archive.ingest import hash_file

    with pytest.raises(InvalidInput) as ei:
        corrections.file_request(
            school, doc_id, actor=teacher, wrong="a", should_be="b", why="c",
            evidence=[corrections.EvidenceFile(bad, bad.name, *hash_file(bad))],
        )  # fmt: skip
    assert ei.value.code == "unsupported_type"
    req = request(school, tmp_path, doc_id)
    with pytest.raises(Conflict) as ei:
        request(school, tmp_path, doc_id)
    assert ei.value.code == "correction_open"
    with school.sessions() as s, s.begin():
        with pytest.raises(InvalidInput):  # a refusal needs its reason
            corrections.decide(
                s,
                corrections.get_request(s, req.id),
                actor=accounts.get_user(s, "hieutruong"),
                approve=False,
                note="",
            )
    with school.sessions() as s, s.begin():
        corrections.decide(
            s, corrections.get_request(s, req.id), actor=accounts.get_user(s, "hieutruong"), approve=False,
            note="Minh chứng không khớp",
        )  # fmt: skip
    with pytest.raises(Conflict) as ei:
        apply(school, tmp_path, doc_id, req.id)
    assert ei.value.code == "correction_not_approved"


def test_a_record_that_is_not_locked_needs_no_correction(school: Archive, tmp_path: Path):
    from archive.ingest import ingest_file
    from tests.factories import make_pdf

    path = make_pdf(tmp_path / "open.pdf", extra=b"open year")
    doc_id = ingest_file(
        school, path, filename=path.name, school="C01", type_code="so-theo-doi-danh-gia-lop", year="2025-2026",
        title="Năm học chưa khóa",
    ).document.id  # fmt: skip
    with pytest.raises(Conflict) as ei:
        request(school, tmp_path, doc_id)
    assert ei.value.code == "not_locked"


def test_an_inspection_package_of_a_corrected_record_carries_its_bien_ban(school: Archive, tmp_path: Path):
    from retention.inspection import Selection, select_documents

    from .helpers import complete

    doc_id = locked_record(school, tmp_path)
    _, record_id = complete(school, tmp_path, doc_id)
    with school.sessions() as s:
        inspector = accounts.get_user(s, "thanhtraphong")
        picked = select_documents(s, inspector, Selection.of(documents=[doc_id]))
        assert [d.id for d in picked] == [doc_id, record_id]
