"""The API's edit / new version / withdrawal of a record (the web's "Sửa hồ sơ", for machines) and the year overview
routes: the same rules as the pages — the uploader or the office, before the lock — with the API's error shape and
stable codes, and the overview within the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive.context import Archive
from archive.models import Document
from archive.record_models import DocumentChange
from hoso.app import create_app
from tests.factories import add_person, bearer, make_archive, pdf_bytes, seed_world

YEAR = "2024-2025"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Archive, TestClient]]:
    a = make_archive(tmp_path, seed=seed_world)
    add_person(a, "gvbm2", ("gvbm", "C01"), full_name="Giáo viên khác")
    with TestClient(create_app(a.settings, archive=a)) as client:
        yield a, client
    a.close()


def upload(
    client: TestClient, who: dict[str, str], type_code: str, title: str, **extra: str
) -> dict[str, Any]:
    pdf = pdf_bytes(text=title, extra=uuid.uuid4().bytes)
    form = {"school": "C01", "type": type_code, "year": YEAR, "title": title, **extra}
    r = client.post(
        "/api/v1/documents", data=form, files={"file": ("a.pdf", pdf, "application/pdf")}, headers=who
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["message_vi"] and body["message_en"], body


def test_the_uploader_edits_replaces_and_withdraws_a_record(api: tuple[Archive, TestClient]) -> None:
    a, client = api
    teacher, other = bearer(a, "gvbm"), bearer(a, "gvbm2")
    doc = upload(client, teacher, "so-diem-ca-nhan", "Sổ điểm cá nhân Toán", class_name="6A1")
    url = f"/api/v1/documents/{doc['id']}"

    r = client.patch(
        url, json={"title": "Sổ điểm cá nhân môn Toán", "class_name": "", "reason": "gõ sai"}, headers=teacher
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["class_name"]) == ("Sổ điểm cá nhân môn Toán", None)
    with a.sessions() as s:
        fields = sorted(
            c.field for c in s.scalars(select(DocumentChange).where(DocumentChange.document_id == doc["id"]))
        )
        assert fields == ["class_name", "title"]
    refused(
        client.patch(url, json={"title": "Sổ điểm cá nhân môn Toán"}, headers=teacher), 422, "nothing_changed"
    )
    refused(client.patch(url, json={"type": "khong-co"}, headers=teacher), 422, "unknown_type")
    refused(client.patch(url, json={"title": "Của tôi"}, headers=other), 403, "not_your_record")

    new = pdf_bytes(text="Sổ điểm cá nhân môn Toán (sửa)", extra=uuid.uuid4().bytes)
    versions = f"{url}/versions"
    refused(client.post(versions, files={"file": ("b.pdf", new)}, headers=teacher), 422, "reason_required")
    refused(client.post(versions, data={"reason": "x"}, headers=teacher), 422, "file_required")
    r = client.post(versions, data={"reason": "thiếu điểm"}, files={"file": ("b.pdf", new)}, headers=teacher)
    assert r.status_code == 201, r.text
    assert [v["number"] for v in r.json()["versions"]] == [1, 2]
    again = client.post(versions, data={"reason": "lại"}, files={"file": ("b.pdf", new)}, headers=teacher)
    refused(again, 409, "same_file")

    refused(client.post(f"{url}/withdraw", json={}, headers=teacher), 422, "reason_required")
    r = client.post(f"{url}/withdraw", json={"reason": "tải nhầm lớp"}, headers=teacher)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
    refused(client.patch(url, json={"title": "Muộn rồi"}, headers=teacher), 409, "not_active")
    # an inspector never sees a withdrawn record, so cannot even learn it exists
    assert client.get(url, headers=bearer(a, "thanhtraphong")).status_code == 404


def test_a_locked_year_refuses_changes_and_inspectors_change_nothing(api: tuple[Archive, TestClient]) -> None:
    a, client = api
    office, principal = bearer(a, "vanthu"), bearer(a, "hieutruong")
    doc = upload(client, office, "hoc-ba", "Học bạ 6A1", class_name="6A1")
    url = f"/api/v1/documents/{doc['id']}"
    r = client.post(
        "/api/v1/locks", json={"school": "C01", "type": "hoc-ba", "year": YEAR}, headers=principal
    )
    assert r.status_code == 201, r.text
    refused(client.patch(url, json={"title": "Học bạ lớp 6A1"}, headers=office), 409, "locked")
    refused(client.post(f"{url}/withdraw", json={"reason": "nhầm"}, headers=office), 409, "locked")
    pdf = pdf_bytes(text="khác", extra=uuid.uuid4().bytes)
    refused(
        client.post(
            f"{url}/versions", data={"reason": "sửa"}, files={"file": ("c.pdf", pdf)}, headers=office
        ),
        409,
        "locked",
    )
    refused(
        client.post(f"{url}/withdraw", json={"reason": "x"}, headers=bearer(a, "thanhtraphong")),
        403,
        "forbidden",
    )
    with a.sessions() as s:
        row = s.get(Document, doc["id"])
        assert (
            row is not None
            and row.status == "active"
            and row.title == "Học bạ 6A1"
            and len(row.versions) == 1
        )


def test_the_overview_routes_keep_to_the_callers_schools(api: tuple[Archive, TestClient]) -> None:
    a, client = api
    office = bearer(a, "vanthu")
    upload(client, office, "hoc-ba", "Học bạ 6A1", class_name="6A1")
    upload(client, office, "hoc-ba", "Học bạ 6A2", class_name="6A2")
    upload(client, office, "so-dang-bo", "Sổ đăng bộ")
    phong = bearer(a, "thanhtraphong")
    r = client.get("/api/v1/overview", params={"school": "C01", "year": YEAR}, headers=phong)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["classes"] == ["6A1", "6A2", None] and body["missing"] == 3 * 2 - 3
    assert {(c["class_name"], c["type"], c["stored"]) for c in body["cells"]} == {
        ("6A1", "hoc-ba", 1), ("6A2", "hoc-ba", 1), (None, "so-dang-bo", 1),
    }  # fmt: skip
    refused(
        client.get("/api/v1/overview", params={"school": "T01", "year": YEAR}, headers=phong),
        403,
        "forbidden",
    )
    refused(
        client.get("/api/v1/overview", params={"school": "Z9", "year": YEAR}, headers=phong),
        404,
        "school_not_found",
    )
    refused(
        client.get("/api/v1/overview", params={"school": "C01", "year": "2024"}, headers=phong),
        422,
        "invalid_input",
    )

    r = client.get("/api/v1/overview/schools", params={"year": YEAR}, headers=phong)
    assert r.status_code == 200, r.text
    assert r.json()["organisation"] == "79-Q1"
    assert [(x["school"], x["stored"]) for x in r.json()["schools"]] == [("C01", 3), ("M01", 0)]
    sở = client.get("/api/v1/overview/schools", params={"year": YEAR}, headers=bearer(a, "thanhtraso"))
    assert "C01" not in [x["school"] for x in sở.json()["schools"]]
    refused(
        client.get("/api/v1/overview/schools", params={"year": YEAR, "org": "79"}, headers=phong),
        403,
        "forbidden",
    )
    refused(
        client.get("/api/v1/overview/schools", params={"year": YEAR, "org": "C01"}, headers=phong),
        422,
        "not_inspecting_org",
    )
