"""The web pages in a real Chromium against `hoso serve`: the school office logs in, uploads a PDF with a Vietnamese
name through the form, finds it in the list, downloads the identical bytes, applies the school seal and reads the
validation report; a non-PDF is refused in Vietnamese; an inspector can read but not upload; logout ends the session."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login, logout
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, stop_server

OFFICE = ("vanthu", "Mật-khẩu-Văn-thư-2025", "Nguyễn Thị Thư")
INSPECTOR = ("thanhtra", "Mật-khẩu-Thanh-tra-2025", "Trần Văn Tra")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()  # skip (or fail in CI) before paying for a server
    server = boot(tmp_path_factory.mktemp("web"))
    add_server_user(server, OFFICE[0], OFFICE[1], OFFICE[2], ("van_thu", "T01"))
    add_server_user(server, INSPECTOR[0], INSPECTOR[1], INSPECTOR[2], ("inspector_so", "79"))
    yield server
    stop_server(server)


def fill_upload_form(page: Any, base: str, file: Path, title: str) -> None:
    page.goto(base + "/tai-len")
    page.get_by_label("Trường").select_option("T01")
    # "Tài liệu khác" has no signing chain: the office may seal it at once (chains: tests/e2e/test_chain_browser.py)
    page.get_by_label("Loại hồ sơ").select_option("khac")
    page.get_by_label("Năm học").fill("2024-2025")
    page.get_by_label("Tên hồ sơ").fill(title)
    page.locator("#class_name").fill("10A1")
    page.get_by_label("Giáo viên").fill("Cô Lê Thị Hoa")
    page.set_input_files("#file", str(file))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_load_state()


def test_office_uploads_finds_downloads_seals_and_validates(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, OFFICE[0], OFFICE[1])
    assert page.locator("html").get_attribute("lang") == "vi"
    assert OFFICE[2] in page.locator("header").inner_text()

    pdf = make_pdf(tmp_path / "Sổ theo dõi đánh giá lớp 10A1.pdf", pages=2, extra=b"web")
    data = pdf.read_bytes()
    fill_upload_form(page, base, pdf, "Sổ theo dõi và đánh giá học sinh lớp 10A1")
    assert "/ho-so/" in page.url
    assert "Đã tiếp nhận" in page.locator("#thong-bao").inner_text()
    doc_url = page.url.split("?")[0]
    replicas = page.locator("#ban-sao li").all_inner_texts()
    assert [r.split(":")[0] for r in replicas] == ["Bản sao 1", "Bản sao 2", "Bản sao 3"]
    assert all(": tốt" in r for r in replicas), replicas
    assert hashlib.sha256(data).hexdigest() in page.content()

    # the list shows it, filters keep working, and the row leads back to the document
    page.goto(base + "/ho-so?year=2024-2025&q=10A1")
    assert "1 hồ sơ" in page.locator("#tong-so").inner_text()
    page.get_by_role("link", name="Sổ theo dõi và đánh giá học sinh lớp 10A1").click()
    page.wait_for_url(doc_url)

    # download: an attachment with the Vietnamese name and exactly the uploaded bytes
    with page.expect_download() as info:
        page.locator("#tai-ve").click()
    download = info.value
    assert (
        download.suggested_filename == "T01_2024-2025_khac_10A1_Sổ-theo-dõi-và-đánh-giá-học-sinh-lớp-10A1.pdf"
    )
    assert Path(download.path()).read_bytes() == data

    # the school seal (the browser's confirm dialog is accepted) → a new signed version, validated
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#ky-so").click()
    page.wait_for_url(doc_url + "?da_ky=2")
    assert "Hợp lệ" in page.locator("#ket-qua-ky").inner_text()
    rows = page.locator("#phien-ban tbody tr").all_inner_texts()
    assert len(rows) == 2 and "con dấu" in rows[0] and OFFICE[2] in rows[0]  # by full name, not username

    page.screenshot(path=str(tmp_path / "trang-ho-so.png"), full_page=True)
    assert (tmp_path / "trang-ho-so.png").read_bytes()[:4] == b"\x89PNG"

    page.locator("#kiem-tra").click()
    page.wait_for_url(doc_url + "/kiem-tra")
    verdict = page.locator("#ket-luan").inner_text()
    assert verdict.startswith("Hợp lệ") and "Không hợp lệ" not in verdict
    report = page.locator("section.signature").first.inner_text()
    for label in ("Người ký", "Tổ chức", "CA cấp chứng thư", "Thời hạn chứng thư", "Thời điểm ký",
                  "Dấu thời gian", "Toàn vẹn", "Chuỗi tin cậy", "Tình trạng thu hồi", "Thay đổi sau khi ký",
                  "Mức PAdES"):  # fmt: skip
        assert label in report, label
    assert "PAdES-B-" in report or "B-LTA" in report or "B-LT" in report

    # a file that is not a PDF: refused in Vietnamese, nothing lost from the form
    fake = tmp_path / "Học bạ lớp 12A.pdf"
    fake.write_bytes(b"Day khong phai la PDF")
    fill_upload_form(page, base, fake, "Học bạ 12A")
    refusal = page.locator("#loi-tai-len").inner_text()
    assert "Tệp chưa được lưu" in refusal and "Loại tệp không được hỗ trợ" in refusal
    assert page.get_by_label("Tên hồ sơ").input_value() == "Học bạ 12A"
    assert page.get_by_label("Giáo viên").input_value() == "Cô Lê Thị Hoa"
    page.goto(base + "/ho-so")
    assert "1 hồ sơ" in page.locator("#tong-so").inner_text()

    logout(page, base)
    page.goto(doc_url)
    assert "/dang-nhap" in page.url  # the session really ended


def test_inspector_reads_but_cannot_upload(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    pdf = make_pdf(tmp_path / "Sổ đăng bộ khóa 2022-2025.pdf", extra=b"inspector")
    out = live.cli("ingest", str(pdf), "--school", "T01", "--type", "so-dang-bo", "--year", "2023-2024")
    assert out.returncode == 0

    login(page, base, INSPECTOR[0], INSPECTOR[1])
    assert page.get_by_role("link", name="Tải lên").count() == 0
    page.get_by_label("Năm học").select_option("2023-2024")
    page.get_by_role("button", name="Lọc").click()
    page.get_by_role("link", name="Sổ đăng bộ khóa 2022-2025").click()
    assert page.locator("#tai-ve").count() == 1  # inspectors retrieve any document, as an attachment
    assert page.locator("#ky-so").count() == 0  # but never sign or seal

    response = page.goto(base + "/tai-len")
    assert response.status == 403
    assert "không có quyền tải lên" in page.locator("main").inner_text()
    logout(page, base)
