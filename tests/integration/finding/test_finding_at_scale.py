"""What keeps the document list fast over a province (issue 15), without changing what it finds: one statement for
the signing status of a whole page, a count that stops at finding.COUNT_CAP ("Hơn 1000 hồ sơ"), and on PostgreSQL a
trigram index that answers the search box."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive import accounts, finding
from archive.context import Archive
from archive.finding import DocumentFilter, find_documents
from archive.ingest import ingest_file
from archive.sessions import SESSION_COOKIE, create_session
from hoso.api import documents as api_documents
from hoso.app import create_app
from hoso.web import pages_documents
from tests.factories import bearer, make_archive, make_pdf, seed_world
from tests.plans import explained, statements

TITLES = [
    "Sổ theo dõi lớp 6A",
    "Học bạ lớp 6A",
    "Học bạ lớp 7B",
    "Kế hoạch bài dạy Toán 6",
    "Đề kiểm tra Địa lí",
]


@pytest.fixture
def five(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    for i, title in enumerate(TITLES):
        path = make_pdf(tmp_path / f"f{i}.pdf", extra=title.encode())
        ingest_file(
            a, path, filename=path.name, school="C01", type_code="hoc-ba", year="2024-2025", title=title
        )
    yield a
    a.close()


def test_a_page_of_rows_costs_the_same_statements_as_a_page_of_two(five: Archive):
    c = TestClient(create_app(five.settings, archive=five))
    h = bearer(five, "admin")
    c.get("/api/v1/me", headers=h)  # the token's first use writes its last-used time (at most once a minute)
    counts = {}
    for limit in (2, 5):
        with statements(five.engine) as sent:
            r = c.get("/api/v1/documents", params={"limit": limit}, headers=h)
        assert r.status_code == 200 and len(r.json()["items"]) == limit
        counts[limit] = len(sent)
    assert counts[2] == counts[5], counts


def test_the_count_stops_at_the_cap_and_the_page_says_more(five: Archive, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(finding, "COUNT_CAP", 3)
    monkeypatch.setattr(api_documents, "COUNT_CAP", 3)
    monkeypatch.setattr(pages_documents, "PAGE_SIZE", 2)
    with five.sessions() as s:
        rows, total = find_documents(s, DocumentFilter(), school_ids=None, limit=2)
    assert (len(rows), total) == (2, 4)  # counted up to the cap and one more: "more than 3"
    c = TestClient(create_app(five.settings, archive=five), base_url="http://127.0.0.1")
    body = c.get("/api/v1/documents", headers=bearer(five, "admin")).json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (3, True, 5)
    narrow = c.get("/api/v1/documents", params={"q": "hoc ba"}, headers=bearer(five, "admin")).json()
    assert (narrow["total"], narrow["total_capped"]) == (2, False)

    with five.sessions() as s, s.begin():
        c.cookies.set(SESSION_COOKIE, create_session(s, accounts.get_user(s, "admin"), ttl_hours=1).secret)
    page = c.get("/ho-so", params={"page": 2}).text
    assert "Hơn 3 hồ sơ" in page and "Trang 2</span>" in page and 'rel="next"' in page
    last = c.get("/ho-so", params={"page": 3}).text  # one row left: no next page past the end
    assert 'rel="next"' not in last and 'rel="prev"' in last


def test_a_walk_that_stops_at_its_bound_hands_over_to_the_word_index(
    five: Archive, monkeypatch: pytest.MonkeyPatch
):
    if five.engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's (SQLite scans the folded column)")
    # a walk of the newest record finds no "hoc ba": the matches are gathered from the word index, then sorted
    # (on five rows the planner may read any index for it: test_finding_walk.py shows the trigram index on more)
    monkeypatch.setattr(finding, "WALK_MAX", 1)
    with five.sessions() as s, s.begin():
        with explained(five.engine) as plans:
            rows, total = find_documents(s, DocumentFilter(q="hoc ba"), school_ids=None)
    assert sorted(d.title for d in rows) == ["Học bạ lớp 6A", "Học bạ lớp 7B"] and total == 2
    walked = [p for p in plans if "anon_1.hit" in p]
    # then every match gathered and sorted: a plan with the words, not a walk, not the page's own rows (= ANY)
    gathered = [p for p in plans if "~~" in p and "Sort" in p and "anon_1.hit" not in p and "= ANY" not in p]
    assert len(walked) == 1 and len(gathered) == 1, plans
