"""The audit page and the account page in a real Chromium against `hoso serve`: a principal reads their school's
trail (not another school's) and exports it; a teacher is refused; a teacher enrols TOTP from the account page and
then cannot log in without the code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login, logout
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, stop_server

PRINCIPAL = ("hieutruong", "Mật-khẩu-Hiệu-trưởng-2025", "Phạm Văn Hiệu")
TEACHER = ("giaovien", "Mật-khẩu-Giáo-viên-2025", "Lê Thị Giáo")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    tmp = tmp_path_factory.mktemp("web-audit")
    server = boot(tmp)
    server.cli("org", "add", "T02", "--name", "Trường THPT Bên Cạnh", "--kind", "truong", "--level", "THPT",
               "--parent", "79")  # fmt: skip
    add_server_user(server, PRINCIPAL[0], PRINCIPAL[1], PRINCIPAL[2], ("hieu_truong", "T01"))
    add_server_user(server, TEACHER[0], TEACHER[1], TEACHER[2], ("gvbm", "T01"))
    yield server
    stop_server(server)


def ingest(live: LiveServer, tmp_path: Path, school: str) -> str:
    pdf = make_pdf(tmp_path / f"Sổ đăng bộ {school}.pdf", extra=school.encode())
    out = live.cli(
        "ingest", str(pdf), "--school", school, "--type", "so-dang-bo", "--year", "2024-2025", "--json"
    )
    return str(json.loads(out.stdout)[0]["id"])


def test_principal_reads_own_school_trail_and_teacher_is_refused(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    mine, other = ingest(live, tmp_path, "T01"), ingest(live, tmp_path, "T02")

    login(page, base, PRINCIPAL[0], PRINCIPAL[1])
    page.get_by_role("link", name="Nhật ký").click()
    page.wait_for_url(base + "/nhat-ky")
    page.get_by_label("Hành động").fill("document.ingest")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url("**/nhat-ky?*hanh_dong=document.ingest*")
    table = page.locator("#su-kien tbody").inner_text()
    assert "Tiếp nhận hồ sơ" in table
    # documents by title, linked to their page (no id prefixes); the other school's never
    assert page.locator(f"#su-kien a[href='/ho-so/{mine}']").count() == 1
    assert page.locator(f"#su-kien a[href='/ho-so/{other}']").count() == 0
    assert "1 sự kiện" in page.locator("#tong-so").inner_text()
    assert page.locator("#kiem-tra-chuoi").count() == 0  # the whole chain is the system administrator's
    with page.expect_download() as info:
        page.locator("#tai-csv").click()
    exported = Path(info.value.path()).read_text(encoding="utf-8")
    assert mine in exported and other not in exported and exported.startswith("id,occurred_at,actor")
    page.screenshot(path=str(tmp_path / "nhat-ky.png"), full_page=True)
    logout(page, base)

    login(page, base, TEACHER[0], TEACHER[1])
    assert page.get_by_role("link", name="Nhật ký").count() == 0
    response = page.goto(base + "/nhat-ky")
    assert response.status == 403
    assert "không có quyền xem nhật ký truy vết" in page.locator("main").inner_text()
    logout(page, base)


def test_teacher_enrols_totp_and_then_needs_the_code(live: LiveServer, page: Any, tmp_path: Path):
    import time

    import pyotp

    base = live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    page.get_by_role("link", name=TEACHER[2]).click()
    page.wait_for_url(base + "/tai-khoan")
    assert "Giáo viên bộ môn — T01" in page.locator("#vai-tro").inner_text()
    page.locator("#dang-ky-totp").click()
    page.wait_for_url(base + "/tai-khoan#xac-thuc-hai-lop")
    grouped = page.locator("#khoa-bi-mat").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", grouped), grouped
    secret = grouped.replace(" ", "")
    assert (
        page.locator("#otpauth").inner_text().startswith(f"otpauth://totp/hoso:{TEACHER[0]}?secret={secret}")
    )
    assert page.locator("#ma-qr").count() == 0  # no QR library installed: the secret to type in
    page.screenshot(path=str(tmp_path / "tai-khoan-totp.png"), full_page=True)
    page.locator("#totp-code").fill(pyotp.TOTP(secret).now())
    page.locator("#xac-nhan-totp").click()
    page.wait_for_url("**/tai-khoan?xong=totp_bat*")
    assert "Đã bật xác thực hai lớp" in page.locator("#thong-bao").inner_text()
    assert "Đang bật" in page.locator("#trang-thai-totp").inner_text()
    logout(page, base)

    # the password alone no longer opens a session: the page asks for the code
    page.get_by_label("Tên đăng nhập").fill(TEACHER[0])
    page.get_by_label("Mật khẩu").fill(TEACHER[1])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    assert "xác thực hai lớp" in page.locator("#loi-dang-nhap").inner_text()
    assert "/dang-nhap" in page.url
    page.get_by_label("Mật khẩu").fill(TEACHER[1])
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).at(time.time() + 30))  # a step not used yet
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base + "/ho-so")
    assert TEACHER[2] in page.locator("header").inner_text()
