"""Student transfer between two running hoso instances, in a real Chromium: the sending school's office finds the
student's records and downloads the sealed package; the receiving school's office uploads it with the sender's seal
fingerprint and gets the records filed. Screenshots at desktop and phone width in /tmp/shots/w13/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login
from tests.factories import add_server_user, boot, pdf_bytes
from tests.processes import LiveServer, free_port, stop_server

CLERK = ("vanthu", "Mật-khẩu-Văn-thư-2025", "Lê Văn Thư")
SHOTS = Path("/tmp/shots/w13")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    chromium_path()
    one, two = tmp_path_factory.mktemp("sender"), tmp_path_factory.mktemp("receiver")
    sender = boot(one, HOSO_BASE_URL=f"http://127.0.0.1:{free_port()}")
    sender.cli("transfer", "seal")  # makes the sender's (dev) PKI, whose root the receiver is told to trust
    receiver = boot(
        two, HOSO_BASE_URL=f"http://127.0.0.1:{free_port()}",
        HOSO_TRUST_ROOTS=str(one / "var" / "dev-pki" / "root.cert.pem"),
    )  # fmt: skip
    for server in (sender, receiver):
        add_server_user(server, CLERK[0], CLERK[1], CLERK[2], ("van_thu", "T01"))
    for klass in ("10A1", "11A1"):
        pdf = one / f"hb-{klass}.pdf"
        pdf.write_bytes(pdf_bytes(text=f"Học bạ Nguyễn Văn An {klass}", extra=klass.encode()))
        sender.cli("ingest", str(pdf), "--school", "T01", "--type", "hoc-ba", "--year", "2024-2025",
                   "--title", f"Học bạ Nguyễn Văn An — lớp {klass}", "--class-name", klass)  # fmt: skip
    yield sender, receiver
    stop_server(sender)
    stop_server(receiver)


def test_records_travel_from_one_hoso_to_another(
    pair: tuple[LiveServer, LiveServer], page: Any, chromium: Any, tmp_path: Path
) -> None:
    sender, receiver = pair
    login(page, sender.base_url, CLERK[0], CLERK[1])
    page.get_by_role("link", name="Chuyển trường").click()
    page.get_by_label("Tên học sinh (trong tên hồ sơ)").fill("Nguyễn Văn An")
    page.locator("#tim").click()
    page.wait_for_url("**/chuyen-truong?*")
    assert page.locator("#ho-so-chuyen tbody tr").count() == 2
    fingerprint = page.locator("#ma-con-dau code").inner_text().strip()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "transfer-send-desktop.png"), full_page=True)
    with page.expect_download(timeout=120_000) as info:
        page.locator("#tai-goi-chuyen").click()
    package = tmp_path / info.value.suggested_filename
    info.value.save_as(package)
    assert package.name == "chuyen-truong-Nguyen-Van-An.zip"

    other = chromium.new_context(locale="vi-VN")  # the other school: its own cookies
    try:
        p2 = other.new_page()
        p2.set_default_timeout(120_000)
        login(p2, receiver.base_url, CLERK[0], CLERK[1])
        p2.goto(receiver.base_url + "/chuyen-truong")
        p2.set_input_files("#n-package", str(package))
        p2.locator("#n-seal").fill("0" * 64)
        p2.locator("#nhan-goi").click()
        assert (
            "con dấu đã đăng ký" in p2.content()
        )  # a seal not registered for the sender: refused, as a page
        p2.goto(receiver.base_url + "/chuyen-truong")
        p2.set_input_files("#n-package", str(package))
        p2.locator("#n-seal").fill(fingerprint)
        p2.locator("#nhan-goi").click()
        p2.wait_for_selector("#da-nhan")
        assert "Đã nhận 2 hồ sơ từ trường T01" in p2.locator("#da-nhan").inner_text()
        assert p2.locator("#ho-so-da-nhan li").count() == 2
        p2.screenshot(path=str(SHOTS / "transfer-receive-desktop.png"), full_page=True)
        p2.set_viewport_size({"width": 390, "height": 844})
        p2.screenshot(path=str(SHOTS / "transfer-receive-phone.png"), full_page=True)
    finally:
        other.close()
    listed = json.loads(receiver.cli("documents", "list", "--json").stdout)
    items = listed["items"] if isinstance(listed, dict) else listed
    assert sorted(d["title"] for d in items) == [
        "Học bạ Nguyễn Văn An — lớp 10A1",
        "Học bạ Nguyễn Văn An — lớp 11A1",
    ]
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "transfer-send-phone.png"), full_page=True)


PRINCIPAL = ("hieutruong", "Mật-khẩu-Hiệu-trưởng-2025", "Phạm Văn Hiệu")


def test_principal_registers_the_sender_and_the_office_receives_without_a_fingerprint(
    pair: tuple[LiveServer, LiveServer], page: Any, tmp_path: Path
) -> None:
    sender, receiver = pair
    shots = Path("/tmp/shots/w13b")
    shots.mkdir(parents=True, exist_ok=True)
    fingerprint = sender.cli("transfer", "seal").stdout.split()[0]
    listed = json.loads(sender.cli("documents", "list", "--json").stdout)
    ids = [d["id"] for d in (listed["items"] if isinstance(listed, dict) else listed)]
    package = tmp_path / "an.zip"
    sender.cli("transfer", "export", *(a for i in ids for a in ("--document", i)), "--student", "Nguyễn Văn An",
               "--out", str(package))  # fmt: skip
    add_server_user(receiver, PRINCIPAL[0], PRINCIPAL[1], PRINCIPAL[2], ("hieu_truong", "T01"))

    login(page, receiver.base_url, PRINCIPAL[0], PRINCIPAL[1])
    page.goto(receiver.base_url + "/chuyen-truong")
    page.locator("#g-code").fill("T01")
    page.locator("#g-name").fill("Trường THPT Nguyễn Thị Minh Khai")
    page.locator("#g-seal").fill("12" * 10)
    page.locator("#dang-ky-truong-gui").click()
    assert "SHA-256" in page.content()  # a malformed fingerprint: refused, as a page
    page.goto(receiver.base_url + "/chuyen-truong")
    page.locator("#g-code").fill("T01")
    page.locator("#g-name").fill("Trường THPT Nguyễn Thị Minh Khai")
    page.locator("#g-seal").fill(fingerprint)
    page.locator("#dang-ky-truong-gui").click()
    page.wait_for_selector("#ds-truong-gui")
    row = page.locator("#ds-truong-gui tbody tr").first.inner_text()
    assert "Trường THPT Thử Nghiệm" in row and "Nguyễn Thị Minh Khai (T01)" in row and fingerprint[:16] in row
    assert PRINCIPAL[2] in row  # who registered it, by name
    page.locator("#truong-gui").screenshot(path=str(shots / "transfer-senders-desktop.png"))
    page.screenshot(path=str(shots / "transfer-page-principal-desktop.png"), full_page=True)

    # the office receives the package with no fingerprint typed: the registry vouches for the seal
    page.set_input_files("#n-package", str(package))
    page.locator("#nhan-goi").click()
    page.wait_for_selector("#da-nhan")
    assert "từ trường T01" in page.locator("#da-nhan").inner_text()
    assert page.locator("#ho-so-da-nhan li").count() == 2
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(receiver.base_url + "/chuyen-truong#truong-gui")
    page.screenshot(path=str(shots / "transfer-page-principal-phone.png"), full_page=True)
    registered = json.loads(receiver.cli("transfer", "sender", "list", "--json").stdout)
    assert [(r["school"], r["sender"], r["added_by"]) for r in registered] == [("T01", "T01", PRINCIPAL[0])]
