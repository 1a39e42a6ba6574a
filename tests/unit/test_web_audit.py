"""The audit page in-process (TestClient): only audit.read holders get it (and its menu link), a principal sees their
own school's events and never another school's, filters and paging work, the export links answer with the same scope,
and the chain check is the system administrator's, CSRF-protected, and reports in Vietnamese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive import orgs
from archive.context import Archive
from archive.events import record_event
from archive.ingest import ingest_file
from hoso.app import create_app
from tests.factories import PASSWORD, add_person, make_pdf
from tests.unit.test_web_pages import login


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    for username, role in (("hieutruong", "hieu_truong"), ("giaovien", "gvbm")):
        add_person(archive, username, (role, "T01"), full_name=username, password=PASSWORD)
    add_person(archive, "quantri", password=PASSWORD, system_admin=True)
    yield TestClient(create_app(archive.settings, archive=archive))


@pytest.fixture
def docs(archive: Archive, tmp_path: Path) -> dict[str, str]:
    out = {}
    for school in ("T01", "C01"):
        pdf = make_pdf(tmp_path / f"Sổ đăng bộ {school}.pdf", extra=school.encode())
        result = ingest_file(
            archive, pdf, filename=pdf.name, school=school, type_code="so-dang-bo", year="2024-2025"
        )
        out[school] = result.document.id
    return out


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)


def test_teacher_gets_403_and_no_link(client: TestClient, docs: dict[str, str]):
    login(client, "giaovien")
    assert 'href="/nhat-ky"' not in client.get("/ho-so").text
    r = client.get("/nhat-ky")
    assert r.status_code == 403 and "Bạn không có quyền xem nhật ký truy vết" in r.text
    assert client.get("/api/v1/audit/export?format=csv").status_code == 403


def test_principal_sees_own_school_only(client: TestClient, docs: dict[str, str]):
    login(client, "hieutruong")
    assert 'href="/nhat-ky"' in client.get("/ho-so").text
    page = client.get("/nhat-ky", params={"hanh_dong": "document.ingest"})
    assert page.status_code == 200
    assert "1 sự kiện" in page.text and len(rows(page.text)) == 1
    assert docs["T01"] in page.text and "Tiếp nhận hồ sơ" in page.text
    everything = client.get("/nhat-ky").text
    assert docs["T01"] in everything and docs["C01"] not in everything
    # asking for the other school's document by id is refused, not answered with an empty list
    r = client.get("/nhat-ky", params={"ho_so": docs["C01"]})
    assert r.status_code == 403
    # the export links carry the filters and the API applies the same scope with the session cookie
    csv_link = re.search(r'id="tai-csv" href="([^"]+)"', page.text)
    assert csv_link and "action=document.ingest" in csv_link.group(1) and "format=csv" in csv_link.group(1)
    export = client.get(csv_link.group(1).replace("&amp;", "&"))
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert docs["T01"] in export.text and docs["C01"] not in export.text
    json_link = re.search(r'id="tai-json" href="([^"]+)"', page.text)
    assert json_link
    items = client.get(json_link.group(1).replace("&amp;", "&")).json()
    assert [e["document_id"] for e in items] == [docs["T01"]]


def test_filters_dates_and_paging(client: TestClient, archive: Archive, docs: dict[str, str]):
    with archive.sessions() as s, s.begin():
        t01 = orgs.get_organisation(s, "T01")
        for _ in range(55):
            record_event(
                s, "document.validate", actor_name="kiemtra", document_id=docs["T01"], organisation_id=t01.id
            )
    login(client, "hieutruong")
    first = client.get("/nhat-ky", params={"nguoi": "kiemtra"}).text
    assert "55 sự kiện" in first and len(rows(first)) == 50 and "Trang 1 / 2" in first
    second = client.get("/nhat-ky", params={"nguoi": "kiemtra", "page": 2}).text
    assert len(rows(second)) == 5 and "Trang 2 / 2" in second
    r = client.get("/nhat-ky", params={"tu": "2025-13-40"})
    assert r.status_code == 422 and "Ngày bắt đầu không hợp lệ" in r.text
    r = client.get("/nhat-ky", params={"tu": "2025-09-05", "den": "2025-09-01"})
    assert r.status_code == 422 and "Ngày kết thúc phải sau ngày bắt đầu" in r.text
    # everything happened today: a range ending yesterday finds nothing, one including today finds it
    assert "0 sự kiện" in client.get("/nhat-ky", params={"nguoi": "kiemtra", "den": "2000-01-01"}).text
    assert "55 sự kiện" in client.get("/nhat-ky", params={"nguoi": "kiemtra", "tu": "2000-01-01"}).text


def test_chain_check_is_for_the_system_administrator(client: TestClient, docs: dict[str, str]):
    csrf = login(client, "hieutruong")
    assert 'id="kiem-tra-chuoi"' not in client.get("/nhat-ky").text
    assert client.post("/nhat-ky/kiem-tra-chuoi", data={"csrf_token": csrf}).status_code == 403
    client.cookies.clear()
    csrf = login(client, "quantri")
    page = client.get("/nhat-ky").text
    assert 'id="kiem-tra-chuoi"' in page and docs["C01"] in page  # the operator sees every school
    r = client.post("/nhat-ky/kiem-tra-chuoi", data={})
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    r = client.post("/nhat-ky/kiem-tra-chuoi", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Chuỗi nhật ký toàn vẹn" in r.text
    assert re.search(r"Đã kiểm tra \d+ sự kiện", r.text)


def test_a_tampered_chain_is_reported(client: TestClient, archive: Archive, docs: dict[str, str]):
    from sqlalchemy import update

    from archive.models import Event

    csrf = login(client, "quantri")
    with archive.sessions() as s, s.begin():
        s.execute(update(Event).where(Event.id == 2).values(actor="ke-gian"))
    r = client.post("/nhat-ky/kiem-tra-chuoi", data={"csrf_token": csrf})
    assert "Chuỗi nhật ký bị phá vỡ" in r.text and "Nội dung sự kiện 2 đã bị sửa" in r.text
