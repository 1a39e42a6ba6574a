"""A newest-first search reads its candidates newest first and tests their words (archive/finding.py: _walk) or asks
the word index: both ways find the same rows in the same order with the same capped total, on SQLite and on
PostgreSQL, however the walk ends; on PostgreSQL the walk reads one index in the list's order, without sorting and
without the rows themselves (migration 0020), and words the statistics sample calls rare go to the trigram index."""

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
                    # half the records, the older half, are "cũ": common, yet not among the newest
                    title=f"Hồ sơ {g} lớp {6 + g % 4}A{1 + g % 3}" + (" cũ" if g >= DOCS // 2 else ""),
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
    if a.engine.dialect.name == "postgresql":
        # as a catalog in use: statistics gathered (the sample the walk is chosen by), the visibility map set
        dsn = a.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE documents")
    yield a
    a.close()


SEARCHES = [
    DocumentFilter(q="giáo viên"),  # every record: the walk finds enough
    DocumentFilter(q="Hồ sơ 1"),  # 1, 10-19, 100-199: dense
    DocumentFilter(q="cu"),  # common, but the walk meets none before its bound
    DocumentFilter(q="lop 6a1"),  # one in twelve: rare for a walk of 40
    DocumentFilter(q="lớp 6A1", school="C01", type_code="hoc-ba"),
    DocumentFilter(q="ho so 7"),  # 7, 70-79
    DocumentFilter(q="moi"),  # the three newest
    DocumentFilter(q="khong co"),  # nothing
    DocumentFilter(q="giáo viên", school="C02"),  # every candidate read before the bound
    DocumentFilter(q="hoc ba", school="C02"),
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
    monkeypatch.setattr(finding, "WALK_MAX", 40)
    outcomes: Counter[str] = Counter()
    walk, promises = finding._walk, finding._walk_promises

    def promised(*args: Any) -> bool:
        yes = promises(*args)
        outcomes["walk" if yes else "word index at once"] += 1
        return yes

    def counted_walk(*args: Any) -> list[str] | None:
        hits = walk(*args)
        ended = "stopped" if hits is None else "enough" if len(hits) > finding.COUNT_CAP else "all read"
        outcomes[f"walk: {ended}"] += 1
        return hits

    monkeypatch.setattr(finding, "_walk_promises", promised)
    monkeypatch.setattr(finding, "_walk", counted_walk)
    compared = 0
    for user in ("admin", "vanthu"):
        for f in SEARCHES:
            for offset, limit in PAGES:
                walked = found(catalog, f, user, limit, offset)
                with monkeypatch.context() as m:
                    m.setattr(finding, "WALK_MAX", 0)  # the list's own query, as before walks
                    before = found(catalog, f, user, limit, offset)
                assert walked == before, (user, f, offset, limit)
                compared += bool(walked[0])
    # every way a search can go was met, and the comparisons were not of empty lists
    ways = {"walk: enough", "walk: all read", "walk: stopped"}
    if catalog.engine.dialect.name == "postgresql":
        ways.add("word index at once")  # SQLite keeps no sample: it always walks
    assert ways <= set(outcomes), outcomes
    assert compared > 60
    assert found(catalog, DocumentFilter(q="giao vien"), "admin", 100, 0)[1] == 8  # capped: 7 and one more


def test_the_walk_reads_one_index_in_the_lists_order(catalog: Archive):
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("the walk's indexes are PostgreSQL's (migration 0020)")
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
        walk = next(
            p for p in plans if "anon_1.hit" in p
        )  # the statement whose outer filter is the word test
        assert f"Index Only Scan using {index}" in walk, walk
        assert "Sort" not in walk, walk  # newest first straight from the index: the walk stops at its matches
    with catalog.sessions() as s, s.begin():
        s.execute(text("SET LOCAL enable_seqscan = off"))
        with explained(catalog.engine) as plans:
            rows, total = find_documents(s, DocumentFilter(q="moi"), school_ids=None)
    assert total == 3 and not any("anon_1.hit" in p for p in plans), plans  # rare in the sample: no walk
    assert any("ix_documents_search_trgm" in p for p in plans), plans


def test_autovacuum_comes_soon_enough_for_the_walk_to_stay_index_only(catalog: Archive):
    """Only vacuumed pages are read from the index alone: the walk's table and the overview's are visited after a
    small share of new rows (migration 0022), not PostgreSQL's default 20 %."""
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("autovacuum is PostgreSQL's")
    with catalog.sessions() as s:
        options = dict(
            s.execute(
                text(
                    "SELECT c.relname, c.reloptions FROM pg_class c"
                    " WHERE c.relname IN ('documents', 'versions') AND c.relnamespace = to_regnamespace(current_schema())"
                )
            ).all()
        )
    for table in ("documents", "versions"):
        settings = dict(o.split("=") for o in options[table] or [])
        # PostgreSQL's defaults, where the table sets nothing: 20 % and 1 000 rows
        assert float(settings.get("autovacuum_vacuum_insert_scale_factor", 0.2)) <= 0.01, (table, settings)
        assert int(settings.get("autovacuum_vacuum_insert_threshold", 1000)) <= 10_000, (table, settings)
