"""A batch's files share their transaction (issue 15): the catalog rows of a group of files commit once, each file in
a savepoint of its own, so a file refused at that stage leaves its neighbours stored; a file whose twin waits in the
same group is still reported as a duplicate; no outcome is given before its group has committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from archive import batch_ingest
from archive.batch_files import BatchFile
from archive.batch_ingest import DUPLICATE, REFUSED, STORED, BatchIngest
from archive.context import Archive
from archive.models import Document, Organisation, RecordLock
from tests.factories import make_pdf


def _files(tmp_path: Path, n: int) -> list[BatchFile]:
    return [
        BatchFile(f"f{i}.pdf", make_pdf(tmp_path / f"f{i}.pdf", extra=f"file {i}".encode()), f"f{i}.pdf")
        for i in range(n)
    ]


def _commits(archive: Archive) -> list[int]:
    seen: list[int] = []
    event.listen(archive.engine, "commit", lambda conn: seen.append(1))
    return seen


def _count(archive: Archive) -> int:
    with archive.sessions() as s:
        return s.scalar(select(func.count()).select_from(Document)) or 0


def test_a_group_of_files_commits_once(archive: Archive, tmp_path: Path):
    batch = BatchIngest(archive, "T01", "2024-2025", None, check_rights=False)
    files = _files(tmp_path, 5)
    commits = _commits(archive)
    outcomes = list(batch.store_each(files, lambda f: ("hoc-ba", "10A1")))
    assert [o.result for o in outcomes] == [STORED] * 5
    assert [o.name for o in outcomes] == [f.name for f in files]
    assert len(commits) == 1 and _count(archive) == 5


def test_groups_are_bounded(archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(batch_ingest, "GROUP", 2)
    batch = BatchIngest(archive, "T01", "2024-2025", None, check_rights=False)
    commits = _commits(archive)
    outcomes = list(batch.store_each(_files(tmp_path, 5), lambda f: ("hoc-ba", "10A1")))
    assert [o.result for o in outcomes] == [STORED] * 5
    assert len(commits) == 3


def test_a_file_refused_in_the_shared_transaction_leaves_its_neighbours_stored(
    archive: Archive, tmp_path: Path
):
    files = _files(tmp_path, 3)
    batch = BatchIngest(archive, "T01", "2024-2025", None, check_rights=False)

    def choose(f: BatchFile) -> tuple[str, str]:
        if f.name == "f2.pdf":
            # the record type of f1 is locked after f1 was checked and copied, before the group commits
            with archive.sessions() as s, s.begin():
                school = s.scalar(select(Organisation).where(Organisation.code == "T01"))
                assert school is not None
                s.add(RecordLock(school_id=school.id, type_code="so-dang-bo", school_year="2024-2025"))
        return ("so-dang-bo" if f.name == "f1.pdf" else "hoc-ba", "10A1")

    outcomes = list(batch.store_each(files, choose))
    assert [o.result for o in outcomes] == [STORED, REFUSED, STORED]
    assert outcomes[1].code == "locked"
    with archive.sessions() as s:
        kept = sorted(d.type_code for d in s.scalars(select(Document)))
    assert kept == ["hoc-ba", "hoc-ba"]


def test_a_twin_in_the_same_group_is_a_duplicate(archive: Archive, tmp_path: Path):
    pdf = make_pdf(tmp_path / "a.pdf", extra=b"twin")
    files = [BatchFile("a.pdf", pdf, "a.pdf"), BatchFile("b.pdf", pdf, "b.pdf")]
    batch = BatchIngest(archive, "T01", "2024-2025", None, check_rights=False)
    outcomes = list(batch.store_each(files, lambda f: ("hoc-ba", "10A1")))
    assert [o.result for o in outcomes] == [STORED, DUPLICATE]
    assert outcomes[0].document_id == outcomes[1].document_id and _count(archive) == 1


def test_no_outcome_before_its_group_commits(archive: Archive, tmp_path: Path):
    batch = BatchIngest(archive, "T01", "2024-2025", None, check_rights=False)
    commits = _commits(archive)
    for o in batch.store_each(_files(tmp_path, 3), lambda f: ("hoc-ba", "10A1")):
        assert o.result == STORED and len(commits) == 1  # the rows of the file reported are committed
