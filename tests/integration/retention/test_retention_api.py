"""The retention routes: bearer auth, due list, a document's retention, holds, batches through to execution."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from archive.context import Archive
from hoso.app import create_app
from tests.factories import add_person, bearer

from .conftest import ingest_pdf

ON = "2026-03-01"


def client(a: Archive, username: str) -> TestClient:
    return TestClient(create_app(a.settings, archive=a), headers=bearer(a, username, name="test", ttl_days=1))


def test_retention_routes(catalog: Archive, tmp_path: Path):
    a = catalog
    r = ingest_pdf(a, tmp_path)
    add_person(a, "gv")
    admin, teacher = client(a, "admin"), client(a, "gv")
    anonymous = TestClient(create_app(a.settings, archive=a))
    assert anonymous.get("/api/v1/retention/due").status_code == 401

    due = admin.get("/api/v1/retention/due", params={"on": ON}).json()
    assert [d["document_id"] for d in due] == [r.document.id]
    assert due[0]["simulation"] is True and due[0]["as_of"] == ON  # "as of" another date is only a simulation
    info = admin.get(f"/api/v1/retention/documents/{r.document.id}", params={"on": ON}).json()
    assert info["due"] and info["disposable_from"] == "2025-01-01" and info["retention_vi"] == "05 năm"
    assert info["simulation"] is True and info["as_of"] == ON
    bad = admin.get("/api/v1/retention/due", params={"on": "31/12/2025"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"

    body = {"document_id": r.document.id, "reason": "complaint", "reference": "Đơn khiếu nại 7/2026"}
    assert teacher.post("/api/v1/retention/holds", json=body).status_code == 403
    hold = admin.post("/api/v1/retention/holds", json=body)
    assert hold.status_code == 201 and hold.json()["reason"] == "complaint"
    assert admin.get("/api/v1/retention/due", params={"on": ON}).json() == []
    assert (
        admin.post(
            "/api/v1/retention/batches", json={"school": "T01", "document_ids": [r.document.id]}
        ).json()["error"]
        == "not_due"
    )
    released = admin.post(f"/api/v1/retention/holds/{hold.json()['id']}/release", json={"note": "xong"})
    assert released.status_code == 200 and released.json()["released_by"] == "admin"

    # a 2018-2019 logbook (THPT, 5 years) is really due on the server's date: no time travel needed
    batch = admin.post("/api/v1/retention/batches", json={"school": "T01"})
    assert batch.status_code == 201
    bid = batch.json()["id"]
    assert teacher.post(f"/api/v1/retention/batches/{bid}/approve").status_code == 403
    assert admin.post(f"/api/v1/retention/batches/{bid}/approve").json()["status"] == "approved"
    assert teacher.post(f"/api/v1/retention/batches/{bid}/execute").status_code == 403
    done = admin.post(f"/api/v1/retention/batches/{bid}/execute").json()
    assert done["status"] == "executed" and done["record_document_id"]
    assert [b["status"] for b in admin.get("/api/v1/retention/batches").json()] == ["executed"]
