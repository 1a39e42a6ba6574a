"""The year overview sent upward, in a real Chromium: a Phòng inspector opens "Tổng hợp các trường" and sees its
district's THCS schools only (a school with nothing archived yet among them), downloads the roll-up as CSV and as a
sealed PDF, drills down to one school's grid and its PDF report; a THPT school's grid is refused with a Vietnamese
page. Every page at desktop and phone width (screenshots under /tmp/shots/overview)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login, logout
from tests.e2e.year_pages import PASSWORD, fits_phone, shots
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, stop_server

YEAR = "2024-2025"
SHOTS = Path("/tmp/shots/overview")
ORGS = [  # code, name, kind, level, parent (boot made the Sở 79 and its THPT school T01)
    ("79-Q1", "Phòng GDĐT Quận Một", "phong", None, "79"),
    ("C01", "Trường THCS Lê Quý Đôn", "truong", "THCS", "79-Q1"),
    ("C02", "Trường THCS Nguyễn Du", "truong", "THCS", "79-Q1"),
    ("G01", "Trung tâm GDTX Quận Một", "truong", "GDTX", "79-Q1"),
]
RECORDS = [("C01", "hoc-ba", "6A1"), ("C01", "hoc-ba", "6A2"), ("C01", "so-theo-doi-danh-gia-lop", "6A1"),
           ("C01", "so-dang-bo", None), ("G01", "hoc-ba", "10A"), ("T01", "hoc-ba", "10A1")]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    os.environ["HOSO_SHOTS"] = str(SHOTS)
    tmp = tmp_path_factory.mktemp("overview")
    server = boot(tmp)
    for code, name, kind, level, parent in ORGS:
        server.cli(
            "org",
            "add",
            code,
            "--name",
            name,
            "--kind",
            kind,
            "--parent",
            parent,
            *(["--level", level] if level else []),
        )
    add_server_user(server, "thanhtraphong", PASSWORD, "Lê Văn Phòng", ("inspector_phong", "79-Q1"))
    add_server_user(server, "hieutruong", PASSWORD, "Phạm Văn Hiệu", ("hieu_truong", "C01"))
    with server.client(server.token("admin")) as c:
        for i, (school, type_code, class_name) in enumerate(RECORDS):
            pdf = make_pdf(tmp / f"r{i}.pdf", extra=f"{school}{type_code}{class_name}".encode())
            form = {
                "school": school,
                "type": type_code,
                "year": YEAR,
                "title": f"{type_code} {class_name or ''}",
            }
            if class_name:
                form["class_name"] = class_name
            r = c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())})
            assert r.status_code == 201, r.text
    yield server
    stop_server(server)


def validated(server: LiveServer, path: Path) -> str:
    checked = server.cli("validate", str(path), "--json", check=False)
    return str(json.loads(checked.stdout)["verdict"])


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_phong_rolls_up_its_thcs_schools_and_drills_down(
    world: LiveServer, page: Any, tmp_path: Path
) -> None:
    server = world
    base = server.base_url
    login(page, base, "thanhtraphong", PASSWORD)
    page.get_by_role("link", name="Tổng quan").click()
    page.get_by_label("Năm học").select_option(YEAR)
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    page.locator("#cac-truong").click()
    page.wait_for_url("**/tong-quan/cac-truong**")
    assert "Phòng GDĐT Quận Một" in page.locator("#don-vi").inner_text()
    rows = page.locator("#cac-truong tbody tr")
    assert [rows.nth(i).get_attribute("data-school") for i in range(rows.count())] == ["C01", "C02"]
    first = rows.first.inner_text()
    assert "Trường THCS Lê Quý Đôn" in first and "4" in first
    assert "chưa có hồ sơ" in rows.nth(1).inner_text()
    shots(page, "tong-hop-cac-truong")
    assert fits_phone(page)

    with page.expect_download() as info:
        page.locator("#tai-csv").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["C01", "C02"]
    with page.expect_download() as info:
        page.locator("#tai-pdf").click()
    rollup = tmp_path / "tong-hop.pdf"
    info.value.save_as(rollup)
    assert info.value.suggested_filename == f"bao-cao-tong-hop_79-Q1_{YEAR}.pdf"
    assert validated(server, rollup) == "TOTAL_PASSED"
    text = pdf_text(rollup)
    assert "PHÒNG GDĐT QUẬN MỘT" in text and "Trường THCS Nguyễn Du (C02)" in text and "G01" not in text
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", "-singlefile", str(rollup), str(SHOTS / "bao-cao-tong-hop")],
        check=True,
    )

    # drill down to a school's grid and its report
    page.get_by_role("link", name="Trường THCS Lê Quý Đôn").click()
    page.wait_for_url("**/tong-quan?**school=C01**")
    grid = [r.split("\t")[0].strip() for r in page.locator("#luoi tbody tr").all_inner_texts()]
    assert grid == ["6A1", "6A2", "Toàn trường"]
    assert page.locator("#tai-pdf").is_visible()
    shots(page, "tong-quan-truong")
    assert fits_phone(page)
    with page.expect_download() as info:
        page.locator("#tai-pdf").click()
    report = tmp_path / "tong-quan.pdf"
    info.value.save_as(report)
    assert validated(server, report) == "TOTAL_PASSED"
    text = pdf_text(report)
    assert "TRƯỜNG THCS LÊ QUÝ ĐÔN" in text and "6A2" in text and "Toàn trường" in text
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", "-singlefile", str(report), str(SHOTS / "bao-cao-tong-quan")],
        check=True,
    )

    # a THPT school belongs to the Sở: refused, as a page in Vietnamese
    response = page.goto(base + f"/tong-quan?school=T01&year={YEAR}")
    assert response is not None and response.status == 403
    assert "không có quyền" in page.locator("main").inner_text()
    assert "application/json" not in (response.headers.get("content-type") or "")
    response = page.goto(base + f"/tong-quan/cac-truong?year={YEAR}&org=79")
    assert response is not None and response.status == 403
    shots(page, "tong-hop-tu-choi")
    logout(page, base)


def test_the_principal_downloads_the_school_report(world: LiveServer, page: Any, tmp_path: Path) -> None:
    server = world
    base = server.base_url
    login(page, base, "hieutruong", PASSWORD)
    page.goto(base + f"/tong-quan?year={YEAR}")
    assert page.locator("#cac-truong").count() == 0  # one school: no roll-up offered
    with page.expect_download() as info:
        page.locator("#tai-pdf").click()
    assert info.value.suggested_filename == f"bao-cao-tong-quan_C01_{YEAR}.pdf"
    saved = tmp_path / "c01.pdf"
    info.value.save_as(saved)
    assert validated(server, saved) == "TOTAL_PASSED"
    shots(page, "tong-quan-hieu-truong")
    logout(page, base)

    # the same reports through the API, for the school's or the Phòng's own software
    with server.client(server.token("hieutruong")) as c:
        r = c.get("/api/v1/overview/report", params={"school": "C01", "year": YEAR})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        (tmp_path / "api.pdf").write_bytes(r.content)
        assert validated(server, tmp_path / "api.pdf") == "TOTAL_PASSED"
        refused = c.get("/api/v1/overview/schools/report", params={"year": YEAR, "org": "79-Q1"})
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    with server.client(server.token("thanhtraphong")) as c:
        r = c.get("/api/v1/overview/schools/report", params={"year": YEAR})
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert 'filename="bao-cao-tong-hop_79-Q1_2024-2025.pdf"' in r.headers["content-disposition"]
