"""In a real Chromium against `hoso serve`: a teacher registers her signing certificate on "Tài khoản của tôi" and
removes it; the school administrator imports the roster CSV on "Phân công giảng dạy" (a bad file first: every bad
line is shown and nothing is imported), then edits a homeroom teacher, a subject teacher and a group head. Desktop and
phone (390 px) screenshots are saved under /tmp/shots/w10b/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login, logout
from tests.factories import add_server_user, boot
from tests.processes import LiveServer, stop_server

SHOTS = Path("/tmp/shots/w10b")
SAMPLE = Path(__file__).resolve().parents[2] / "archive" / "data" / "phan-cong-mau.csv"
ADMIN = ("quantri", "Mật-khẩu-Quản-trị-2025", "Vũ Thị Quản Trị")
TEACHERS = {"gv.lan": "Nguyễn Thị Lan", "gv.hung": "Trần Văn Hùng", "gv.minh": "Lê Văn Minh",
            "gv.thao": "Phạm Thị Thảo", "gv.ha": "Đỗ Thu Hà"}  # fmt: skip
PASSWORD = "Mật-khẩu-Giáo-viên-2025"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    server = boot(tmp_path_factory.mktemp("web-roster"))
    add_server_user(server, ADMIN[0], ADMIN[1], ADMIN[2], ("school_admin", "T01"))
    for username, name in TEACHERS.items():
        add_server_user(server, username, PASSWORD, name, ("gvbm", "T01"))
    yield server
    stop_server(server)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _dev_cert(live: LiveServer, person: str) -> Path:
    return Path(live.env["HOSO_DATA_DIR"]) / "dev-pki" / f"{person}.cert.pem"


def test_teacher_registers_and_removes_her_certificate(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, "gv.lan", PASSWORD)
    page.get_by_role("link", name=TEACHERS["gv.lan"]).click()
    page.wait_for_url(base + "/tai-khoan")
    assert "Chưa đăng ký chứng thư số nào" in page.locator("#chung-thu").inner_text()
    # a file that is not a certificate: the page says so in Vietnamese, nothing is registered
    junk = tmp_path / "anh-chu-ky.crt"
    junk.write_bytes(b"day khong phai chung thu")
    page.locator("#certificate").set_input_files(str(junk))
    page.locator("#dang-ky-chung-thu").click()
    assert "Chứng thư số không đọc được" in page.locator("#loi-chung-thu").inner_text()
    _shot(page, "tai-khoan-chung-thu-loi")
    page.locator("#certificate").set_input_files(str(_dev_cert(live, "teacher")))
    page.locator("#dang-ky-chung-thu").click()
    page.wait_for_url("**/tai-khoan?xong=chung_thu*")
    listed = page.locator("#danh-sach-chung-thu").inner_text()
    assert "Trần Thị Thử (TEST)" in listed and "Intermediate" in listed
    assert page.locator("#danh-sach-chung-thu td", has_text="/20").count() >= 1  # dd/mm/yyyy dates
    _shot(page, "tai-khoan-chung-thu")
    page.set_viewport_size(PHONE)
    _shot(page, "tai-khoan-chung-thu-phone")
    # the certificates section fits a phone (the sessions table below it is wider: not this section's)
    fits = page.evaluate(
        "(() => { const s = document.querySelector('#chung-thu'); return s.scrollWidth <= s.clientWidth; })()"
    )
    assert fits
    page.set_viewport_size({"width": 1280, "height": 900})
    page.once("dialog", lambda d: d.accept())
    page.locator("#danh-sach-chung-thu button").first.click()
    page.wait_for_url("**/tai-khoan?xong=chung_thu_go*")
    assert "Chưa đăng ký chứng thư số nào" in page.locator("#chung-thu").inner_text()
    logout(page, base)


def test_school_admin_imports_and_edits_the_roster(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, "gv.lan", PASSWORD)
    assert page.get_by_role("link", name="Phân công").count() == 0  # a teacher does not keep the roster
    assert page.goto(base + "/phan-cong").status == 403
    logout(page, base)

    login(page, base, ADMIN[0], ADMIN[1])
    page.get_by_role("link", name="Phân công").click()
    page.wait_for_url(base + "/phan-cong")
    page.locator("#nam").fill("2024-2025")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**/phan-cong?*nam=2024-2025*")
    assert page.locator("#chua-co-lop").is_visible()
    bad = tmp_path / "phan-cong-loi.csv"
    bad.write_text(
        "nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,to_truong\n"
        "2024-2025,10A1,Toán,gv.lan,gv.lan,Tổ Toán - Tin,x\n"
        "2024-2025,10A1,Vật lý,gv.khong.co,gv.lan,,\n",
        encoding="utf-8",
    )
    page.locator("#tep-csv").set_input_files(str(bad))
    page.locator("#nhap").click()
    errors = page.locator("#dong-loi").inner_text()
    assert "Dòng 3" in errors and "gv.khong.co" in errors
    assert page.locator("#chua-co-lop").is_visible()  # nothing half-imported
    _shot(page, "phan-cong-loi")

    page.locator("#tep-csv").set_input_files(str(SAMPLE))
    page.locator("#nhap").click()
    assert "Đã nhập 8 dòng" in page.locator("#ket-qua-nhap").inner_text()
    a1 = page.locator("#lop-10A1")
    assert "Tin học" in a1.inner_text() and "Trần Văn Hùng" in a1.inner_text()

    # homeroom of 10A1 → Phạm Thị Thảo
    a1.locator("select[name=username]").first.select_option("gv.thao")
    a1.get_by_role("button", name="Lưu").click()
    page.wait_for_url("**xong=gvcn*")
    assert page.locator("#lop-10A1 select[name=username]").first.input_value() == "gv.thao"
    # a new subject teacher, then removing it again
    a1 = page.locator("#lop-10A1")
    a1.locator("input[name=subject]").fill("Lịch sử")
    a1.locator("select[name=username]").nth(1).select_option("gv.ha")
    a1.get_by_role("button", name="Thêm").click()
    page.wait_for_url("**xong=gvbm*")
    assert "Lịch sử" in page.locator("#lop-10A1").inner_text()
    page.once("dialog", lambda d: d.accept())
    page.locator("#lop-10A1").get_by_role("button", name="Bỏ Lịch sử — gv.ha").click()
    page.wait_for_url("**xong=go_gvbm*")
    assert "Lịch sử" not in page.locator("#lop-10A1 table").inner_text()
    # the head of Tổ Toán - Tin → Trần Văn Hùng
    group = page.locator("#to-chuyen-mon article", has_text="Tổ Toán - Tin")
    group.locator("select").select_option("gv.hung")
    group.get_by_role("button", name="Lưu").click()
    page.wait_for_url("**xong=to_truong*")
    group = page.locator("#to-chuyen-mon article", has_text="Tổ Toán - Tin")
    assert "Tổ trưởng: Trần Văn Hùng" in group.inner_text()
    _shot(page, "phan-cong")
    page.set_viewport_size(PHONE)
    _shot(page, "phan-cong-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width
    logout(page, base)
