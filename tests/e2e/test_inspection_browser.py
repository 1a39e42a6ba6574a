"""Issue 13 "Done when", in a real Chromium against `hoso serve`: a Sở inspector picks a school and a year, makes
the package, downloads it; the test unzips it, checks every checksum in SHA256SUMS and validates the evidence report's
signature; the same package then arrives by e-mail (aiosmtpd) in numbered parts that reassemble to the same bytes.
Screenshots at desktop and phone width go to /tmp/shots/w13/."""

from __future__ import annotations

import email
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.webkit import chromium_path, login
from tests.factories import boot, pdf_bytes
from tests.processes import LiveServer, free_port, run_cli, stop_server

INSPECTOR = ("thanhtraso", "Mật-khẩu-Thanh-tra-2025", "Trần Thanh Tra")
SHOTS = Path("/tmp/shots/w13")
MAIL_LIMIT = 150_000


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int]) -> Iterator[LiveServer]:
    chromium_path()
    tmp = tmp_path_factory.mktemp("web-inspection")
    server = boot(
        tmp, HOSO_SMTP_HOST="127.0.0.1", HOSO_SMTP_PORT=str(inbox[1]), HOSO_INSPECTION_MAIL_MAX_BYTES=str(MAIL_LIMIT),
        HOSO_BASE_URL=f"http://127.0.0.1:{free_port()}",  # the dev PKI served for this server alone
    )  # fmt: skip
    server.cli("org", "add", "T02", "--name", "Trường THPT Bên Sông", "--kind", "truong", "--level", "THPT",
               "--parent", "79")  # fmt: skip
    env = server.env | {"HOSO_WEB_TEST_PASSWORD": INSPECTOR[1]}
    run_cli("user", "create", INSPECTOR[0], "--full-name", INSPECTOR[2], "--email", "thanhtra@so.example",
            "--password-env", "HOSO_WEB_TEST_PASSWORD", env=env)  # fmt: skip
    server.cli("user", "grant", INSPECTOR[0], "inspector_so", "79")
    for school, type_code, title, klass, year in (
        ("T01", "hoc-ba", "Học bạ lớp 10A1", "10A1", "2024-2025"),
        ("T01", "hoc-ba", "Học bạ lớp 10A2", "10A2", "2024-2025"),
        ("T01", "so-dang-bo", "Sổ đăng bộ", None, "2024-2025"),
        ("T01", "hoc-ba", "Học bạ lớp 10A1", "10A1", "2023-2024"),  # another year: not asked for
        ("T02", "hoc-ba", "Học bạ lớp 11B", "11B", "2024-2025"),  # another school: not asked for
    ):
        pdf = tmp / f"{school}-{year}-{title}.pdf"
        pdf.write_bytes(pdf_bytes(text=title, extra=f"{school}{year}{title}".encode(), target_size=90_000))
        args = ["ingest", str(pdf), "--school", school, "--type", type_code, "--year", year, "--title", title]
        server.cli(*args, *(["--class-name", klass] if klass else []))
    yield server
    stop_server(server)


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_so_inspector_downloads_and_receives_the_package_by_mail(
    live: LiveServer, page: Any, tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    base = live.base_url
    login(page, base, INSPECTOR[0], INSPECTOR[1])
    page.get_by_role("link", name="Gói kiểm tra").click()
    page.wait_for_url(base + "/goi-kiem-tra")
    page.locator("#chon-truong").get_by_label("Trường THPT Thử Nghiệm").check()
    page.locator("#chon-nam").get_by_label("2024-2025").check()
    page.locator("#xem-danh-sach").click()
    page.wait_for_url("**/goi-kiem-tra?*school=T01*")
    rows = page.locator("#ho-so-chon tbody tr")
    assert rows.count() == 3
    listed = page.locator("#ho-so-chon").inner_text()
    assert "T01_2024-2025_hoc-ba_10A1_Hoc-ba-lop-10A1.pdf" in listed and "11B" not in listed
    shoot(page, "inspection-choose-desktop")
    page.locator("#tao-goi").click()
    page.wait_for_url("**/goi-kiem-tra/*?moi=1", timeout=120_000)
    assert "Đã tạo gói" in page.locator("#thong-bao").inner_text()
    shoot(page, "inspection-package-desktop")

    with page.expect_download() as info:
        page.locator("#tai-goi").click()
    download = info.value
    assert download.suggested_filename.startswith("goi-kiem-tra-") and download.suggested_filename.endswith(
        ".zip"
    )
    data = Path(download.path()).read_bytes()
    out = tmp_path / "goi"
    with zipfile.ZipFile(download.path()) as z:
        assert z.testzip() is None
        z.extractall(out)
        names = sorted(z.namelist())
    assert names == [
        "SHA256SUMS", "T01_2024-2025_hoc-ba_10A1_Hoc-ba-lop-10A1.pdf", "T01_2024-2025_hoc-ba_10A2_Hoc-ba-lop-10A2.pdf",
        "T01_2024-2025_so-dang-bo_So-dang-bo.pdf", "bao-cao-kiem-tra.json", "bao-cao-kiem-tra.pdf",
    ]  # fmt: skip
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 5
    for line in sums:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    listing = json.loads((out / "bao-cao-kiem-tra.json").read_text(encoding="utf-8"))
    assert {f["school"] for f in listing["files"]} == {"T01"} and listing["created_by"] == INSPECTOR[0]
    checked = live.cli("validate", str(out / "bao-cao-kiem-tra.pdf"), "--json", check=False)
    report = json.loads(checked.stdout)
    assert checked.returncode == 0 and report["verdict"] == "TOTAL_PASSED", checked.stdout[-2000:]

    # the same package by e-mail, in numbered parts under the limit, reassembled to the same bytes
    box, _ = inbox
    page.locator("#gui-email").click()
    page.wait_for_url("**da_gui=*", timeout=120_000)
    assert "thanhtra@so.example" in page.locator("#da-gui").inner_text()
    assert len(box.messages) >= 3
    parts: dict[int, bytes] = {}
    for raw in box.messages:
        assert len(raw) <= MAIL_LIMIT
        msg = email.message_from_bytes(raw)
        n, total = map(int, msg["X-Hoso-Part"].split("/"))
        assert total == len(box.messages) and msg["To"] == "thanhtra@so.example"
        (attachment,) = [p for p in msg.walk() if p.get_filename()]
        parts[n] = attachment.get_payload(decode=True)
    assert b"".join(parts[n] for n in sorted(parts)) == data

    # phone width: the same pages stay usable
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    shoot(page, "inspection-package-phone")
    page.goto(base + "/goi-kiem-tra?school=T01&year=2024-2025")
    assert page.locator("#ho-so-chon tbody tr").count() == 3
    shoot(page, "inspection-choose-phone")


def test_out_of_scope_school_is_an_error_page(live: LiveServer, page: Any) -> None:
    base = live.base_url
    live.cli("org", "add", "C09", "--name", "Trường THCS Khác", "--kind", "truong", "--level", "THCS", "--parent", "79",
             check=False)  # fmt: skip
    login(page, base, INSPECTOR[0], INSPECTOR[1])
    response = page.goto(base + "/goi-kiem-tra?school=C09")
    assert response is not None and response.status == 403
    assert "Không có quyền" in page.content()
    response = page.goto(base + "/goi-kiem-tra/00000000-0000-0000-0000-000000000000")
    assert response is not None and response.status == 404
