"""A newest-first search reads its candidates newest first and tests their words (archive/finding.py: _walk) or, for
rare words, asks the word index: both ways find the same rows in the same order with the same capped total, on
SQLite and on PostgreSQL, whatever the walk decides; on PostgreSQL the walk reads one index in the list's order,
without sorting and without the rows themselves (migration 0020)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text

from archive import accounts, finding
from archive.context import Archive
from archive.finding import DocumentFilter, find_documents, visible_school_ids
from archive.models import Document, Organisation
from tests.factories import make_archive, seed_world
from tests.plans import explained

DOCS = 240
T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


@pytest.fixture
def catalog(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    """240 records of C01 and 6 of C02; eight share each upload time, so ties are ordered by id."""
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    with a.sessions() as s, s.begin():
        school = {o.code: o.id for o in s.scalars(select(Organisation))}
        uploader = accounts.get_user(s, "vanthu").id
        for g in range(DOCS):
            s.add(
                Document(
                    school_id=school["C01"],
                    type_code=("hoc-ba", "so-theo-doi-danh-gia-lop")[g % 2],
                    school_year=("2023-2024", "2024-2025")[g % 3 == 0],
                    title=f"Hồ sơ {g} lớp {6 + g % 4}A{1 + g % 3}",
                    class_name=f"{6 + g % 4}A{1 + g % 3}",
                    # the three newest have a word nobody else has: a walk meets it early, then never again
                    teacher="Giáo viên mới" if g < 3 else f"Giáo viên {g % 40}",
                    status="withdrawn" if g % 17 == 5 else "active",
                    created_at=T0 - timedelta(hours=g // 8),
                    created_by_id=uploader if g % 5 == 0 else None,
                )
            )
        for g in range(6):
            s.add(
                Document(
                    school_id=school["C02"], type_code="hoc-ba", school_year="2024-2025", title=f"Học bạ {g}",
                    teacher="Giáo viên 1", created_at=T0 - timedelta(minutes=g),
                )
            )  # fmt: skip
    yield a
    a.close()


SEARCHES = [
    DocumentFilter(q="giáo viên"),  # every record: the first walk finds enough
    DocumentFilter(q="Hồ sơ 1"),  # 1, 10-19, 100-199: dense
    DocumentFilter(q="lop 6a1"),  # one in twelve: the walk goes on
    DocumentFilter(q="lớp 6A1", school="C01", type_code="hoc-ba"),
    DocumentFilter(q="ho so 7"),  # 7, 70-79: rare, the word index answers
    DocumentFilter(q="moi"),  # met in the first walk only: the second walk gives up
    DocumentFilter(q="khong co"),  # nothing
    DocumentFilter(q="hoc ba", school="C02"),  # every candidate read before the bound
    DocumentFilter(q="vien 1", year="2024-2025"),
    DocumentFilter(q="vien", status="withdrawn"),
    DocumentFilter(q="so", mine=True),
    DocumentFilter(q="6a", locked=False),
]
PAGES = [(0, 5), (5, 5), (0, 100), (6, 3), (8, 5)]


def found(a: Archive, f: DocumentFilter, user: str, limit: int, offset: int) -> tuple[list[str], int]:
    with a.sessions() as s:
        u = accounts.get_user(s, user)
        rows, total = find_documents(
            s, f, school_ids=visible_school_ids(s, u, f), user_id=u.id, user_name=u.full_name or None,
            limit=limit, offset=offset,
        )  # fmt: skip
        return [d.id for d in rows], total


def test_walking_finds_what_the_word_index_finds(catalog: Archive, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(finding, "COUNT_CAP", 7)
    monkeypatch.setattr(finding, "WALK_FIRST", 20)
    monkeypatch.setattr(finding, "WALK_MAX", 150)
    outcomes: Counter[str] = Counter()
    walk, searched = finding._walk, finding._searched_ids

    def counted_walk(*args: Any, **kw: Any) -> finding._Walked:
        outcomes["walks"] += 1
        return walk(*args, **kw)

    def noted(*args: Any, **kw: Any) -> list[str] | None:
        before = outcomes["walks"]
        ids = searched(*args, **kw)
        outcomes[f"{outcomes['walks'] - before} walk(s), {'found' if ids is not None else 'word index'}"] += 1
        return ids

    monkeypatch.setattr(finding, "_walk", counted_walk)
    monkeypatch.setattr(finding, "_searched_ids", noted)
    compared = 0
    for user in ("admin", "vanthu"):
        for f in SEARCHES:
            for offset, limit in PAGES:
                walked = found(catalog, f, user, limit, offset)
                with monkeypatch.context() as m:
                    m.setattr(finding, "_searched_ids", lambda *_a, **_k: None)
                    indexed = found(catalog, f, user, limit, offset)
                assert walked == indexed, (user, f, offset, limit)
                compared += bool(walked[0])
    # every way the walk can end was met, and the comparisons were not of empty lists
    assert {
        "1 walk(s), found",
        "2 walk(s), found",
        "1 walk(s), word index",
        "2 walk(s), word index",
    } <= set(outcomes), outcomes
    assert compared > 60
    assert found(catalog, DocumentFilter(q="giao vien"), "admin", 100, 0)[1] == 8  # capped: 7 and one more


def test_the_walk_reads_one_index_in_the_lists_order(catalog: Archive):
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("the walk's indexes are PostgreSQL's (migration 0020)")
    # as a catalog that has been in use: the visibility map set, so the walk need not visit the rows
    dsn = catalog.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE documents")
    for f, index in (
        (DocumentFilter(q="giao vien"), "ix_documents_walk"),
        (DocumentFilter(q="giao vien", school="C01"), "ix_documents_school_walk"),
    ):
        with catalog.sessions() as s, s.begin():
            s.execute(text("SET LOCAL enable_seqscan = off"))  # 246 rows: only so the planner shows the index
            with explained(catalog.engine) as plans:
                rows, total = find_documents(s, f, school_ids=None)
        withdrawn = len(range(5, DOCS, 17))
        assert (len(rows), total) == (100, DOCS - withdrawn + (6 if f.school is None else 0))
        walk = next(p for p in plans if "row_number" in p.lower() or "WindowAgg" in p)
        assert f"Index Only Scan using {index}" in walk, walk
        assert "Sort" not in walk, walk  # newest first straight from the index: the walk stops at its matches
