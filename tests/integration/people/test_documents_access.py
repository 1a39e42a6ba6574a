"""The document routes enforce the matrix: who may upload which records, who sees which schools' documents."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from archive.context import Archive
from archive.ingest import ingest_file
from archive.models import Event
from tests.factories import bearer, make_pdf
from tests.integration.people.helpers import client_for


def _upload(c, headers, path: Path, school: str, type_code: str):
    with open(path, "rb") as f:
        return c.post(
            "/api/v1/documents",
            headers=headers,
            files={"file": (path.name, f, "application/pdf")},
            data={"school": school, "type": type_code, "year": "2024-2025"},
        )


def test_upload_depends_on_role_and_whose_record(sqlite_world: Archive, tmp_path: Path):
    c = client_for(sqlite_world)
    plan = make_pdf(tmp_path / "Kế hoạch bài dạy Toán 6.pdf", extra=b"plan")
    transcript = make_pdf(tmp_path / "Học bạ 6A.pdf", extra=b"hocba")
    teacher = bearer(sqlite_world, "gvbm")
    assert _upload(c, teacher, plan, "C01", "ke-hoach-bai-day").status_code == 201
    r = _upload(c, teacher, transcript, "C01", "hoc-ba")  # a school record: the office's job
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert _upload(c, teacher, plan, "C02", "ke-hoach-bai-day").status_code == 403  # another school
    clerk = bearer(sqlite_world, "vanthu")
    assert _upload(c, clerk, transcript, "C01", "hoc-ba").status_code == 201
    assert (
        _upload(c, bearer(sqlite_world, "thanhtraphong"), transcript, "C01", "so-dang-bo").status_code == 403
    )
    with sqlite_world.sessions() as s:
        denied = s.scalars(select(Event).where(Event.action == "access.denied").order_by(Event.id)).all()
    assert [(e.actor, e.detail["action"], e.detail["organisation"]) for e in denied] == [
        ("gvbm", "document.upload", "C01"),
        ("gvbm", "document.upload_own", "C02"),
        ("thanhtraphong", "document.upload", "C01"),
    ]


def test_lists_and_reads_are_limited_to_the_jurisdiction(sqlite_world: Archive, tmp_path: Path):
    ids = {}
    for school in ("C01", "C02", "T01", "G01"):
        path = make_pdf(tmp_path / f"{school}.pdf", extra=school.encode())
        r = ingest_file(
            sqlite_world, path, filename=path.name, school=school, type_code="hoc-ba", year="2024-2025"
        )
        ids[school] = r.document.id
    c = client_for(sqlite_world)

    def visible(user: str) -> set[str]:
        items = c.get("/api/v1/documents", headers=bearer(sqlite_world, user)).json()["items"]
        return {d["school"] for d in items}

    assert visible("gvbm") == {"C01"}
    assert visible("thanhtraphong") == {"C01"}
    assert visible("thanhtraso") == {"T01", "G01"}
    assert visible("admin") == {"C01", "C02", "T01", "G01"}
    so = bearer(sqlite_world, "thanhtraso")
    assert c.get(f"/api/v1/documents/{ids['T01']}", headers=so).status_code == 200
    r = c.get(f"/api/v1/documents/{ids['G01']}/content", headers=so)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert c.get(f"/api/v1/documents/{ids['C01']}", headers=so).status_code == 403
    assert c.get(f"/api/v1/documents/{ids['C01']}/content", headers=so).status_code == 403
    # a token narrowed to reading cannot download
    read_only = bearer(sqlite_world, "thanhtraso", scopes="document.read")
    assert c.get(f"/api/v1/documents/{ids['T01']}", headers=read_only).status_code == 200
    assert c.get(f"/api/v1/documents/{ids['T01']}/content", headers=read_only).status_code == 403
    with sqlite_world.sessions() as s:
        downloads = s.scalars(select(Event).where(Event.action == "document.download")).all()
        denied = s.scalars(select(Event).where(Event.action == "access.denied")).all()
    assert [(e.actor, e.document_id) for e in downloads] == [("thanhtraso", ids["G01"])]
    assert {e.document_id for e in denied} == {ids["C01"], ids["T01"]}
