"""The corrections API and pages over HTTP: bodies, refusals in the house error shape, the evidence served from a
verified copy, and the request form answering a mistake with a Vietnamese page (never JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.context import Archive
from tests.factories import bearer, make_archive, make_pdf, seed_world_with_passwords

from ..people.helpers import client_for, login
from .helpers import locked_record


@pytest.fixture
def school(tmp_path: Path) -> Iterator[Archive]:
    a = make_archive(tmp_path, seed=seed_world_with_passwords, cookie_secure=False)
    yield a
    a.close()


def test_request_decide_and_apply_through_the_api(school: Archive, tmp_path: Path):
    doc_id = locked_record(school, tmp_path)
    scan = make_pdf(tmp_path / "bai-kiem-tra.pdf", extra=b"bai kiem tra")
    client = client_for(school)
    teacher, principal = bearer(school, "gvbm"), bearer(school, "hieutruong")
    text = {"wrong": "Điểm của An ghi 5", "should_be": "Điểm đúng là 8", "why": "Nhập nhầm"}
    r = client.post(f"/api/v1/documents/{doc_id}/corrections", data=text, headers=teacher)
    assert r.status_code == 422 and r.json()["error"] == "evidence_required"
    r = client.post(
        f"/api/v1/documents/{doc_id}/corrections", data=text, headers=teacher,
        files=[("evidence", (scan.name, scan.read_bytes(), "application/pdf"))],
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "requested" and body["requested_by_username"] == "gvbm"
    assert [e["filename"] for e in body["evidence"]] == ["bai-kiem-tra.pdf"]
    cid = body["id"]
    # the teacher cannot approve their own request; a refusal needs its reason
    r = client.post(f"/api/v1/corrections/{cid}/decision", json={"approve": True}, headers=teacher)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = client.post(f"/api/v1/corrections/{cid}/decision", json={"approve": False}, headers=principal)
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    r = client.post(
        f"/api/v1/corrections/{cid}/decision", json={"approve": True, "note": "Đồng ý"}, headers=principal
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    fixed = make_pdf(tmp_path / "sua.pdf", extra=b"An: 8")
    r = client.post(
        f"/api/v1/corrections/{cid}/version",
        headers=teacher,
        files={"file": (fixed.name, fixed.read_bytes())},
    )
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["status"] == "applied" and done["applied_version"] == 2 and done["record_id"]
    assert done["record_chain"] == "Chờ người đề nghị ký"
    assert [c["id"] for c in client.get("/api/v1/corrections", headers=principal).json()] == [cid]


def test_the_pages_answer_mistakes_in_vietnamese_and_serve_the_evidence(school: Archive, tmp_path: Path):
    doc_id = locked_record(school, tmp_path)
    client = client_for(school)
    csrf = login(client, "gvbm")["csrf_token"]
    page = client.get(f"/ho-so/{doc_id}")
    assert page.status_code == 200 and 'id="de-nghi-chinh-sua"' in page.text and 'id="sua"' not in page.text
    r = client.post(
        f"/ho-so/{doc_id}/de-nghi-chinh-sua",
        data={"csrf_token": csrf, "wrong": "Điểm ghi 5", "should_be": "8", "why": ""},
    )
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert "Hãy ghi lý do." in r.text and "Điểm ghi 5</textarea>" in r.text  # what was typed is kept
    photo = tmp_path / "anh.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"anh" * 30)
    r = client.post(
        f"/ho-so/{doc_id}/de-nghi-chinh-sua",
        data={"csrf_token": csrf, "wrong": "Điểm ghi 5", "should_be": "8", "why": "Nhầm"},
        files=[("evidence", (photo.name, photo.read_bytes(), "image/png"))],
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "Chờ hiệu trưởng duyệt" in detail.text
    link = detail.text.split('<ul id="minh-chung">')[1].split('href="')[1].split('"')[0]
    evidence = client.get(link)
    assert evidence.status_code == 200 and evidence.content == photo.read_bytes()
    assert evidence.headers["content-type"] == "image/png"
    # the principal's list; a stranger's request number is a Vietnamese 404 page
    client.post("/dang-xuat", data={"csrf_token": csrf})
    login(client, "hieutruong")
    assert "Điểm ghi 5" not in client.get("/chinh-sua").text  # the list shows titles, not the request's text
    assert "Sổ theo dõi đánh giá lớp 6A" in client.get("/chinh-sua").text
    missing = client.get("/chinh-sua/999")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_evidence_and_the_corrected_version_may_be_as_large_as_any_upload(school: Archive, tmp_path: Path):
    """A scanned mark book or a year's class book is larger than the 2 MB that ordinary requests may carry."""
    from hoso.app import UPLOAD_PATHS
    from hoso.http_limits import route_limits

    limit_for = route_limits(UPLOAD_PATHS, upload=school.settings.max_upload_bytes, other=1)
    for path in ("/ho-so/x/de-nghi-chinh-sua", "/chinh-sua/7/phien-ban"):  # the pages' forms
        assert limit_for({"method": "POST", "path": path}) > school.settings.max_upload_bytes, path

    big = 3 * 1024 * 1024
    assert big > school.settings.max_request_bytes
    doc_id = locked_record(school, tmp_path)
    client = client_for(school)
    teacher, principal = bearer(school, "gvbm"), bearer(school, "hieutruong")
    scan = b"\x89PNG\r\n\x1a\n" + b"\0" * big
    text = {"wrong": "Điểm của An ghi 5", "should_be": "Điểm đúng là 8", "why": "Nhập nhầm"}
    r = client.post(
        f"/api/v1/documents/{doc_id}/corrections", data=text, headers=teacher,
        files=[("evidence", ("so-diem.png", scan, "image/png"))],
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = client.post(
        f"/api/v1/corrections/{cid}/decision", json={"approve": True, "note": "Đồng ý"}, headers=principal
    )
    assert r.status_code == 200, r.text
    fixed = make_pdf(tmp_path / "sua.pdf", extra=b"\0" * big)
    r = client.post(
        f"/api/v1/corrections/{cid}/version",
        headers=teacher,
        files={"file": (fixed.name, fixed.read_bytes())},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "applied"
