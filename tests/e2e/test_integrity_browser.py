"""The integrity page in a real Chromium: the system administrator makes a signed check record after a full fixity
run that repaired a damaged copy; the chart shows the runs; the record's PDF downloads and validates; a principal
sees the records but cannot make one, and finds each record waiting for their countersignature (on the page and in
their inbox). Screenshots at desktop and phone width in /tmp/shots/w13/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login
from tests.factories import add_server_user, boot, pdf_bytes
from tests.processes import LiveServer, free_port, run_cli, stop_server

ADMIN = ("quantrihethong", "Mật-khẩu-Quản-trị-2025", "Nguyễn Quản Trị")
PRINCIPAL = ("hieutruong", "Mật-khẩu-Hiệu-trưởng-2025", "Phạm Văn Hiệu")
SHOTS = Path("/tmp/shots/w13")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    tmp = tmp_path_factory.mktemp("web-integrity")
    server = boot(tmp, HOSO_BASE_URL=f"http://127.0.0.1:{free_port()}")
    env = server.env | {"HOSO_WEB_TEST_PASSWORD": ADMIN[1]}
    run_cli("user", "create", ADMIN[0], "--full-name", ADMIN[2], "--system-admin", "--password-env",
            "HOSO_WEB_TEST_PASSWORD", env=env)  # fmt: skip
    add_server_user(server, PRINCIPAL[0], PRINCIPAL[1], PRINCIPAL[2], ("hieu_truong", "T01"))
    pdf = tmp / "hoc-ba.pdf"
    pdf.write_bytes(pdf_bytes(text="Học bạ 10A1"))
    out = json.loads(server.cli("ingest", str(pdf), "--school", "T01", "--type", "hoc-ba", "--year", "2024-2025",
                                "--json").stdout)  # fmt: skip
    copy = tmp / "var" / "replicas" / "copy2" / "content" / out[0]["sha256"][:2] / out[0]["sha256"]
    data = bytearray(copy.read_bytes())
    data[100] ^= 0x01
    copy.write_bytes(bytes(data))
    server.cli("fixity", "run", "--full", check=False)
    server.cli("fixity", "run")
    server.cli("export", "media", "--school", "T01", "--year", "2024-2025", "--out", str(tmp / "usb"))
    yield server
    stop_server(server)


def test_admin_makes_a_sealed_check_record_and_principal_reads_it(
    live: LiveServer, page: Any, tmp_path: Path
):
    base = live.base_url
    login(page, base, ADMIN[0], ADMIN[1])
    page.get_by_role("link", name="Toàn vẹn").click()
    page.wait_for_url(base + "/toan-ven")
    assert page.locator("#bieu-do rect.cot").count() == 2
    assert (
        page.locator("#bieu-do rect.hong").count() == 1
    )  # the full run found (and repaired) the flipped bit
    page.locator("#lap-bien-ban").click()
    page.wait_for_url("**/toan-ven?moi=*", timeout=120_000)
    assert "Đã lập biên bản" in page.locator("#thong-bao").inner_text()
    row = page.locator("#bien-ban tbody tr").first.inner_text()
    assert "theo yêu cầu" in row and "12" in row
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "integrity-desktop.png"), full_page=True)
    with page.expect_download() as info:
        page.locator("#bien-ban tbody tr").first.get_by_role("link", name="PDF đã ký").click()
    saved = tmp_path / "bien-ban.pdf"
    info.value.save_as(saved)
    checked = live.cli("validate", str(saved), "--json", check=False)
    assert checked.returncode == 0 and json.loads(checked.stdout)["verdict"] == "TOTAL_PASSED"
    page.locator("#so-vat-mang-tin").click()
    page.wait_for_url(base + "/vat-mang-tin")
    register = page.locator("#vat-mang-tin tbody").inner_text()
    assert "T01" in register and "2024-2025" in register and "Cần ghi lại" not in register
    page.screenshot(path=str(SHOTS / "media-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(SHOTS / "media-phone.png"), full_page=True)
    page.goto(base + "/toan-ven")
    page.screenshot(path=str(SHOTS / "integrity-phone.png"), full_page=True)


def test_principal_sees_records_but_cannot_make_one(live: LiveServer, page: Any):
    base = live.base_url
    login(page, base, PRINCIPAL[0], PRINCIPAL[1])
    page.goto(base + "/toan-ven")
    assert page.locator("#lap-bien-ban").count() == 0
    assert page.locator("#bieu-do").count() == 1
    # the record is offered to the principal to countersign: filed under the school, waiting in their inbox
    cell = page.locator("#bien-ban tbody tr").first.locator("td.ky-xac-nhan")
    assert "Chờ Hiệu trưởng ký" in cell.inner_text()
    shots = Path("/tmp/shots/w13b")
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "integrity-principal-desktop.png"), full_page=True)
    cell.get_by_role("link").first.click()
    page.wait_for_url(base + "/ho-so/*")
    assert "Biên bản kiểm tra định kỳ" in page.locator("h1").inner_text()
    page.goto(base + "/cho-toi-ky")
    assert "Biên bản kiểm tra định kỳ" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "inbox-principal-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/toan-ven")
    page.screenshot(path=str(shots / "integrity-principal-phone.png"), full_page=True)
