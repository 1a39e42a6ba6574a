"""Mistakes fixed before the lock: edit details (history kept), replace the file (a new version), withdraw with a
reason (kept, hidden from inspectors); only the uploader or the office, only while unlocked. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive import accounts, locks, orgs, record_changes
from archive.context import Archive
from archive.errors import Conflict, IngestRefused, InvalidInput, NotFound, PermissionDenied
from archive.finding import DocumentFilter, ensure_visible, find_documents
from archive.ingest import hash_file, ingest_file
from archive.models import Document, Event, User
from archive.record_models import DocumentChange
from tests.factories import make_archive, make_pdf, seed_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    yield a
    a.close()


def person(a: Archive, username: str) -> User:
    with a.sessions() as s:
        u = accounts.get_user(s, username)
        s.expunge(u)
        return u


@pytest.fixture
def plan(world: Archive, tmp_path: Path) -> str:
    path = make_pdf(tmp_path / "plan.pdf", extra=b"plan")
    r = ingest_file(
        world, path, filename="Giáo án.pdf", school="C01", type_code="ke-hoach-bai-day", year="2024-2025",
        title="Kế hoạch bài dạy Toán 6", class_name="6A", teacher="gvbm", actor=person(world, "gvbm"),
    )  # fmt: skip
    return r.document.id


def edit(
    world: Archive, doc_id: str, who: str, reason: str = "", **values: str | None
) -> list[DocumentChange]:
    with world.sessions() as s, s.begin():
        doc = s.get(Document, doc_id)
        assert doc is not None
        return record_changes.edit_details(
            s, doc, actor=accounts.get_user(s, who), values=values, reason=reason
        )


def test_details_are_edited_with_their_history_and_found_under_the_new_title(world: Archive, plan: str):
    edit(world, plan, "gvbm", reason="nhập nhầm lớp", title="Kế hoạch bài dạy Đại số 6", class_name="6B")
    with world.sessions() as s:
        doc = s.get(Document, plan)
        assert doc is not None and (doc.title, doc.class_name) == ("Kế hoạch bài dạy Đại số 6", "6B")
        rows = record_changes.history(s, plan)
        assert {(c.field, c.old_value, c.new_value, c.reason) for c in rows} == {
            ("title", "Kế hoạch bài dạy Toán 6", "Kế hoạch bài dạy Đại số 6", "nhập nhầm lớp"),
            ("class_name", "6A", "6B", "nhập nhầm lớp"),
        }
        ev = s.scalar(select(Event).where(Event.action == "document.edit"))
        assert ev is not None and ev.actor == "gvbm" and ev.detail["changes"]["class_name"] == ["6A", "6B"]
        found, _ = find_documents(s, DocumentFilter(q="dai so"), school_ids=None)
        assert [d.id for d in found] == [plan]  # the folded search text follows the edit
    with pytest.raises(InvalidInput) as ei:
        edit(world, plan, "gvbm", title="Kế hoạch bài dạy Đại số 6")
    assert ei.value.code == "nothing_changed"
    with pytest.raises(InvalidInput) as ei:
        edit(world, plan, "gvbm", title="  ")
    assert ei.value.code == "title_required"


def test_only_the_uploader_or_the_office_and_only_types_they_may_upload(world: Archive, plan: str):
    with pytest.raises(PermissionDenied) as ei:
        edit(world, plan, "gvcn", title="x")  # another teacher of the school
    assert ei.value.code == "not_your_record"
    with pytest.raises(PermissionDenied):
        edit(world, plan, "thanhtraphong", title="x")  # inspectors read only
    with pytest.raises(PermissionDenied):
        edit(world, plan, "gvbm", type_code="hoc-ba")  # a school record is the office's, not a teacher's
    edit(world, plan, "gvbm", type_code="so-diem-ca-nhan")  # another teacher's type: allowed
    with world.sessions() as s:
        assert [c.field for c in record_changes.history(s, plan)] == ["type_code"]
        denied = s.scalars(select(Event).where(Event.action == "access.denied")).all()
        assert len(denied) == 3


def test_replace_makes_a_new_version_and_refuses_bad_files(world: Archive, plan: str, tmp_path: Path):
    new = make_pdf(tmp_path / "new.pdf", extra=b"new")
    sha, size = hash_file(new)
    gvbm = person(world, "gvbm")
    with pytest.raises(InvalidInput):  # a reason is required
        record_changes.replace_file(
            world, plan, new, filename="v2.pdf", sha256=sha, size=size, reason=" ", actor=gvbm
        )
    v2 = record_changes.replace_file(
        world, plan, new, filename="Giáo án sửa.pdf", sha256=sha, size=size, reason="tải nhầm tệp", actor=gvbm
    )
    assert v2.number == 2
    with world.sessions() as s:
        doc = s.get(Document, plan)
        assert doc is not None and [v.sha256 for v in doc.versions][-1] == sha
        assert (
            doc.versions[-1].reason == "tải nhầm tệp"
            and doc.versions[-1].original_filename == "Giáo án sửa.pdf"
        )
    with pytest.raises(Conflict) as ei:
        record_changes.replace_file(
            world, plan, new, filename="x.pdf", sha256=sha, size=size, reason="lại", actor=gvbm
        )
    assert ei.value.code == "same_file"
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"MZ\x90\x00 not a pdf at all" * 10)
    jsha, jsize = hash_file(junk)
    with pytest.raises(IngestRefused):
        record_changes.replace_file(
            world, plan, junk, filename="x.pdf", sha256=jsha, size=jsize, reason="r", actor=gvbm
        )
    for store in world.replicas.stores:  # nothing of the refused file was written
        assert not list(store.list(f"content/{jsha[:2]}/{jsha}"))


def test_withdrawn_records_are_kept_hidden_from_inspectors_and_frozen(world: Archive, plan: str):
    with world.sessions() as s, s.begin():
        doc = s.get(Document, plan)
        assert doc is not None
        with pytest.raises(InvalidInput):
            record_changes.withdraw(s, doc, actor=accounts.get_user(s, "gvbm"), reason="")
    with world.sessions() as s, s.begin():
        doc = s.get(Document, plan)
        assert doc is not None
        record_changes.withdraw(s, doc, actor=accounts.get_user(s, "gvbm"), reason="tải nhầm loại hồ sơ")
    with world.sessions() as s:
        doc = s.get(Document, plan)
        assert doc is not None and doc.status == "withdrawn" and len(doc.versions) == 1
        with pytest.raises(NotFound):
            ensure_visible(s, accounts.get_user(s, "thanhtraphong"), doc)
        ensure_visible(s, accounts.get_user(s, "gvbm"), doc)  # the school's own people still reach it
        assert find_documents(s, DocumentFilter(), school_ids=None)[1] == 0
    with pytest.raises(Conflict) as ei:
        edit(world, plan, "gvbm", title="y")
    assert ei.value.code == "not_active"


def test_a_lock_stops_every_change(world: Archive, plan: str, tmp_path: Path):
    with world.sessions() as s, s.begin():
        locks.add_lock(
            s, school=orgs.get_organisation(s, "C01"), type_code="ke-hoach-bai-day", year="2024-2025",
            actor=accounts.get_user(s, "hieutruong"),
        )  # fmt: skip
    with pytest.raises(Conflict) as ei:
        edit(world, plan, "gvbm", title="z")
    assert ei.value.code == "locked"
    new = make_pdf(tmp_path / "n.pdf", extra=b"n")
    sha, size = hash_file(new)
    with pytest.raises(Conflict):
        record_changes.replace_file(
            world, plan, new, filename="n.pdf", sha256=sha, size=size, reason="r", actor=person(world, "gvbm")
        )
    with world.sessions() as s, s.begin():
        doc = s.get(Document, plan)
        assert doc is not None
        with pytest.raises(Conflict):
            record_changes.withdraw(s, doc, actor=accounts.get_user(s, "gvbm"), reason="r")
    with world.sessions() as s:
        doc = s.get(Document, plan)
        assert doc is not None and doc.status == "active" and len(doc.versions) == 1
