"""The document list's search ignores diacritics and case, sorts by any column and filters by mine / status / locked /
damaged — on SQLite and on PostgreSQL; downloads are named <school>_<year>_<type>_<class>_<title>."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from archive import accounts, finding, locks, orgs
from archive.context import Archive
from archive.finding import DocumentFilter, find_documents, visible_school_ids
from archive.ingest import ingest_file
from archive.models import Document, ReplicaCopy, StoredObject
from hoso.app import create_app
from storage import content_key
from tests.factories import bearer, make_archive, make_pdf, seed_world

# title, type, class, teacher, who uploads
RECORDS = [
    ("Sổ theo dõi và đánh giá học sinh lớp 6A", "so-theo-doi-danh-gia-lop", "6A", None, "vanthu"),
    ("Học bạ lớp 6A", "hoc-ba", "6A", None, "vanthu"),
    ("Kế hoạch bài dạy Toán 6", "ke-hoach-bai-day", "6B", "Nguyễn Thị Ánh", "gvbm"),
    ("Đề kiểm tra Địa lí", "khac", None, "Trần Văn Đức", "vanthu"),
]


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    yield a
    a.close()


@pytest.fixture
def stored(world: Archive, tmp_path: Path) -> dict[str, str]:
    ids = {}
    for i, (title, type_code, class_name, teacher, who) in enumerate(RECORDS):
        with world.sessions() as s:
            actor = accounts.get_user(s, who)
            s.expunge(actor)
        path = make_pdf(tmp_path / f"f{i}.pdf", extra=title.encode())
        r = ingest_file(
            world, path, filename=path.name, school="C01", type_code=type_code, year="2024-2025", title=title,
            class_name=class_name, teacher=teacher, actor=actor,
        )  # fmt: skip
        ids[title] = r.document.id
    other = make_pdf(tmp_path / "other.pdf", extra=b"C02")
    r = ingest_file(
        world, other, filename="o.pdf", school="C02", type_code="hoc-ba", year="2024-2025", title="Học bạ"
    )
    ids["C02"] = r.document.id
    return ids


def titles(world: Archive, f: DocumentFilter, user: str = "admin") -> list[str]:
    with world.sessions() as s:
        u = accounts.get_user(s, user)
        rows, total = find_documents(
            s, f, school_ids=visible_school_ids(s, u, f), user_id=u.id, user_name=u.full_name or None
        )
        assert total == len(rows)
        return [d.title for d in rows]


def test_search_ignores_diacritics_and_case(world: Archive, stored: dict[str, str]):
    assert titles(world, DocumentFilter(q="so theo doi")) == ["Sổ theo dõi và đánh giá học sinh lớp 6A"]
    assert titles(world, DocumentFilter(q="SỔ THEO DÕI")) == ["Sổ theo dõi và đánh giá học sinh lớp 6A"]
    assert titles(world, DocumentFilter(q="anh")) == ["Kế hoạch bài dạy Toán 6"]  # the teacher Ánh
    assert titles(world, DocumentFilter(q="duc")) == ["Đề kiểm tra Địa lí"]  # đ → d
    assert titles(world, DocumentFilter(q="dia li")) == ["Đề kiểm tra Địa lí"]
    assert set(titles(world, DocumentFilter(q="6a"))) == {
        "Sổ theo dõi và đánh giá học sinh lớp 6A",
        "Học bạ lớp 6A",
    }
    assert titles(world, DocumentFilter(q="so doi")) == [
        "Sổ theo dõi và đánh giá học sinh lớp 6A"
    ]  # any order
    assert titles(world, DocumentFilter(q="danh hoc")) == ["Sổ theo dõi và đánh giá học sinh lớp 6A"]
    assert titles(world, DocumentFilter(q="oc ba")) == []  # words match from their start
    assert titles(world, DocumentFilter(q="_%")) == titles(
        world, DocumentFilter()
    )  # no wildcard reaches LIKE
    # the school's own people see C01 only; the search does not widen that
    assert titles(world, DocumentFilter(q="hoc ba"), user="vanthu") == ["Học bạ lớp 6A"]


def test_sorting_by_each_column(world: Archive, stored: dict[str, str]):
    f = DocumentFilter(school="C01", sort="title", descending=False)
    assert titles(world, f) == [
        "Đề kiểm tra Địa lí",  # "de kiem tra": Đ sorts with D, not after Z
        "Học bạ lớp 6A",
        "Kế hoạch bài dạy Toán 6",
        "Sổ theo dõi và đánh giá học sinh lớp 6A",
    ]
    assert (
        titles(world, DocumentFilter(school="C01", sort="title"))[0]
        == "Sổ theo dõi và đánh giá học sinh lớp 6A"
    )
    by_class = titles(world, DocumentFilter(school="C01", sort="class", descending=False))
    assert by_class[0] == "Đề kiểm tra Địa lí" and by_class[-1] == "Kế hoạch bài dạy Toán 6"  # no class first
    by_school = titles(world, DocumentFilter(sort="school", descending=False))
    assert by_school[-1] == "Học bạ"  # "Trường THCS Quận Hai" after "Trường THCS Lê Quý Đôn"
    with world.sessions() as s, s.begin():  # the newest record signed: sorting by "signed" puts it first
        doc = s.get(Document, stored["Học bạ lớp 6A"])
        assert doc is not None and doc.current is not None
        doc.current.signed = True
    assert titles(world, DocumentFilter(school="C01", sort="signed"))[0] == "Học bạ lớp 6A"
    for key in finding.SORT_KEYS:  # every key runs on this database
        assert len(titles(world, DocumentFilter(sort=key))) == 5


def test_filters_mine_locked_damaged_and_withdrawn(world: Archive, stored: dict[str, str]):
    assert titles(world, DocumentFilter(mine=True), user="gvbm") == ["Kế hoạch bài dạy Toán 6"]
    with world.sessions() as s, s.begin():
        locks.add_lock(
            s, school=orgs.get_organisation(s, "C01"), type_code="hoc-ba", year="2024-2025",
            actor=accounts.get_user(s, "hieutruong"),
        )  # fmt: skip
    assert titles(world, DocumentFilter(locked=True)) == ["Học bạ lớp 6A"]
    assert "Học bạ lớp 6A" not in titles(world, DocumentFilter(locked=False))
    assert len(titles(world, DocumentFilter(locked=False))) == 4

    plan = stored["Kế hoạch bài dạy Toán 6"]
    with world.sessions() as s, s.begin():
        doc = s.get(Document, plan)
        assert doc is not None and doc.current is not None
        obj = s.scalar(select(StoredObject).where(StoredObject.key == content_key(doc.current.sha256)))
        assert obj is not None
        s.execute(update(ReplicaCopy).where(ReplicaCopy.id == obj.copies[1].id).values(state="corrupt"))
    assert titles(world, DocumentFilter(damaged=True)) == ["Kế hoạch bài dạy Toán 6"]
    assert len(titles(world, DocumentFilter(damaged=False))) == 4

    with world.sessions() as s, s.begin():
        s.execute(update(Document).where(Document.id == plan).values(status="withdrawn"))
    assert "Kế hoạch bài dạy Toán 6" not in titles(world, DocumentFilter(), user="vanthu")
    assert titles(world, DocumentFilter(status="withdrawn"), user="vanthu") == ["Kế hoạch bài dạy Toán 6"]
    # inspectors never see a withdrawn record, even when they ask for them
    assert titles(world, DocumentFilter(status="withdrawn"), user="thanhtraphong") == []
    assert "Kế hoạch bài dạy Toán 6" not in titles(world, DocumentFilter(), user="thanhtraphong")


def test_api_search_sort_and_download_name(world: Archive, stored: dict[str, str]):
    c = TestClient(create_app(world.settings, archive=world))
    h = bearer(world, "vanthu")
    r = c.get("/api/v1/documents", params={"q": "so theo doi"}, headers=h)
    assert r.status_code == 200 and [d["title"] for d in r.json()["items"]] == [
        "Sổ theo dõi và đánh giá học sinh lớp 6A"
    ]
    r = c.get("/api/v1/documents", params={"sort": "title", "order": "asc"}, headers=h)
    assert [d["title"] for d in r.json()["items"]][0] == "Đề kiểm tra Địa lí"
    bad = c.get("/api/v1/documents", params={"sort": "password_hash"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"] == "bad_sort"
    assert "Không sắp xếp được" in bad.json()["message"]

    got = c.get(f"/api/v1/documents/{stored['Học bạ lớp 6A']}/content", headers=h)
    assert got.status_code == 200
    saved = "C01_2024-2025_hoc-ba_6A_Học-bạ-lớp-6A.pdf"
    assert got.headers["content-disposition"] == (
        f"attachment; filename=\"C01_2024-2025_hoc-ba_6A_Hoc-ba-lop-6A.pdf\"; filename*=UTF-8''{quote(saved, safe='')}"
    )
    # the catalog keeps the name the file was uploaded under
    assert c.get(f"/api/v1/documents/{stored['Học bạ lớp 6A']}", headers=h).json()["filename"] == "f1.pdf"
