"""Batch upload through the API and the page without JavaScript: names read before anything is stored, a ZIP stored
entry by entry with the confirmed type and class (one JSON line each), every refusal with its Vietnamese reason and
nothing stored for it, a ZIP bomb and a path-traversing entry handled, the plain multi-file form answering a page."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive import batch_files
from archive.context import Archive
from archive.models import Document
from hoso.app import create_app
from tests.factories import PASSWORD, add_person, pdf_bytes
from tests.unit.test_web_pages import hidden_token, login


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    add_person(archive, "vanthu", ("van_thu", "T01"), full_name="Trần Thị Văn Thư", password=PASSWORD)
    yield TestClient(create_app(archive.settings, archive=archive), base_url="https://testserver")


def js_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def _docs(archive: Archive) -> list[Document]:
    with archive.sessions() as s:
        return list(s.scalars(select(Document).order_by(Document.title)))


def test_names_are_read_without_storing(client: TestClient, archive: Archive):
    csrf = login(client, "vanthu")
    r = client.post(
        "/api/v1/batch/names",
        json={"names": ["HocBa_Lop10A1_001_NguyenVanAn.pdf", "scan0001.pdf"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["files"]
    assert (first["type"], first["class_name"], first["type_name_vi"]) == (
        "hoc-ba",
        "10A1",
        "Học bạ (học bạ số)",
    )
    assert second == {"name": "scan0001.pdf", "type": None, "type_name_vi": None, "type_name_en": None,
                      "class_name": None}  # fmt: skip
    assert _docs(archive) == []
    # a browser session without the CSRF header is refused, as every unsafe API call
    assert client.post("/api/v1/batch/names", json={"names": []}).status_code == 403


def test_an_inspector_may_not_start_a_batch(client: TestClient, archive: Archive):
    add_person(archive, "thanhtra", ("inspector_so", "79"), full_name="Thanh Tra Sở", password=PASSWORD)
    csrf = login(client, "thanhtra")
    r = client.post("/api/v1/batch/names", json={"names": ["HocBa_6A.pdf"]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["message_vi"] == "Tài khoản của bạn không có quyền tải lên hồ sơ"
    files = {"file": ("6A.zip", _zip({"HocBa_6A.pdf": pdf_bytes()}), "application/zip")}
    r = client.post(
        "/api/v1/batch/zip",
        files=files,
        data={"school": "T01", "year": "2024-2025"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 403 and _docs(archive) == []
    page = client.get("/tai-len-nhieu")
    assert "Bạn chưa được phân quyền tải lên" in page.text


def test_a_zip_is_previewed_then_stored_entry_by_entry(client: TestClient, archive: Archive):
    csrf = login(client, "vanthu")
    bundle = _zip(
        {
            **{f"10A1/HocBa_10A1_{i:02}.pdf": pdf_bytes(extra=bytes([i])) for i in range(3)},
            "10A1/SoTheoDoi_10A1.pdf": pdf_bytes(extra=b"std"),
            "10A1/Giao an Toan 10A1.pdf": pdf_bytes(extra=b"ga"),  # a teacher's own record: not the office's
            "10A1/HocBa_10A1_js.pdf": js_pdf(),
            "10A1/scan0001.pdf": pdf_bytes(extra=b"scan"),  # the name says nothing: chosen at confirmation
            "../../etc/HocBa_10A1_99.pdf": pdf_bytes(
                extra=b"up"
            ),  # a path out of the folder: only the name is kept
        }
    )
    files = {"file": ("Lop 10A1.zip", bundle, "application/zip")}
    r = client.post("/api/v1/batch/zip/preview", files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    readings = {f["name"]: f for f in r.json()["files"]}
    assert readings["10A1/scan0001.pdf"]["type"] is None
    assert readings["10A1/SoTheoDoi_10A1.pdf"]["type"] == "so-theo-doi-danh-gia-lop"
    assert _docs(archive) == []  # a preview stores nothing

    plan = {"10A1/scan0001.pdf": {"type": "so-dang-bo", "class_name": "10A1"}}
    data = {"school": "T01", "year": "2024-2025", "plan": json.dumps(plan)}
    r = client.post("/api/v1/batch/zip", files=files, data=data, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson"), r.text
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line["index"] for line in lines] == list(range(1, 9)) and {line["total"] for line in lines} == {8}
    by_name = {line["name"]: line for line in lines}
    assert by_name["HocBa_10A1_js.pdf"]["code"] == "active_content"
    assert by_name["HocBa_10A1_js.pdf"]["result"] == "refused" and by_name["HocBa_10A1_js.pdf"]["message_vi"]
    plan_refusal = by_name["Giao an Toan 10A1.pdf"]
    assert plan_refusal["code"] == "forbidden" and "Kế hoạch bài dạy" in plan_refusal["message_vi"]
    assert by_name["HocBa_10A1_99.pdf"]["source"] == "Lop 10A1.zip:../../etc/HocBa_10A1_99.pdf"
    assert by_name["HocBa_10A1_99.pdf"]["result"] == "stored"
    stored = _docs(archive)
    assert sorted(d.type_code for d in stored) == ["hoc-ba"] * 4 + ["so-dang-bo", "so-theo-doi-danh-gia-lop"]
    assert {d.class_name for d in stored} == {"10A1"}

    # the same ZIP again: every stored file is a duplicate, nothing new
    r = client.post("/api/v1/batch/zip", files=files, data=data, headers={"X-CSRF-Token": csrf})
    results = [json.loads(line)["result"] for line in r.text.splitlines()]
    assert results.count("duplicate") == 6 and results.count("refused") == 2
    assert len(_docs(archive)) == 6


def test_a_zip_bomb_entry_is_refused_and_the_others_stored(
    client: TestClient, archive: Archive, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(batch_files, "RATIO_FLOOR", 64 * 1024)
    csrf = login(client, "vanthu")
    bundle = _zip(
        {"HocBa_6A_bom.pdf": b"%PDF-1.7\n" + b"\0" * (8 * 1024 * 1024), "HocBa_6A_1.pdf": pdf_bytes()}
    )
    files = {"file": ("6A.zip", bundle, "application/zip")}
    r = client.post(
        "/api/v1/batch/zip",
        files=files,
        data={"school": "T01", "year": "2024-2025"},
        headers={"X-CSRF-Token": csrf},
    )
    by_name = {line["name"]: line for line in map(json.loads, r.text.splitlines())}
    assert by_name["HocBa_6A_bom.pdf"]["code"] == "zip_bomb"
    assert by_name["HocBa_6A_1.pdf"]["result"] == "stored"
    assert [d.class_name for d in _docs(archive)] == ["6A"]
    # not a ZIP at all: a clear 422 before any line
    r = client.post(
        "/api/v1/batch/zip",
        files={"file": ("6A.zip", b"PK not really", "application/zip")},
        data={"school": "T01", "year": "2024-2025"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422 and r.json()["error"] == "bad_zip"


def test_the_plain_form_stores_every_file_and_answers_a_page(client: TestClient, archive: Archive):
    login(client, "vanthu")
    page = client.get("/tai-len-nhieu")
    assert page.status_code == 200 and "Tải lên nhiều tệp" in page.text
    files = [
        ("files", ("Hoc ba 11B2 - Le Thi Hoa.pdf", pdf_bytes(extra=b"a"), "application/pdf")),
        ("files", ("So dang bo.pdf", pdf_bytes(extra=b"b"), "application/pdf")),
        ("files", ("Hoc ba 11B2 - ghi chu.pdf", b"khong phai pdf", "application/pdf")),
    ]
    data = {"csrf_token": hidden_token(page.text), "school": "T01", "year": "2024-2025", "class_name": ""}
    r = client.post("/tai-len-nhieu", data=data, files=files)
    assert r.status_code == 200, r.text
    assert "Đã lưu mới 2 tệp" in r.text and "bị từ chối 1" in r.text
    assert "Loại tệp không được hỗ trợ" in r.text
    assert {(d.title, d.class_name) for d in _docs(archive)} == {
        ("Hoc ba 11B2 - Le Thi Hoa", "11B2"),
        ("So dang bo", None),
    }
    # the year is checked once for the batch: nothing stored, the reason on the page
    r = client.post("/tai-len-nhieu", data=data | {"year": "2024"}, files=files[:1])
    assert r.status_code == 422 and "Chưa lưu tệp nào" in r.text
    assert len(_docs(archive)) == 2
