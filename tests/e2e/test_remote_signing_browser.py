"""Remote signing in real Chromium against a live hoso and the CSC simulator: a teacher links her remote-signing
account (through a page with a link to the provider: the CSP's form-action 'self' forbids a POST that redirects
there), signs three records from "Chờ tôi ký" with one OTP, and declines once from a record's signing page; each
result page says, in Vietnamese, what was signed and what was not and why."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.csc_simulator import CscSimulator
from tests.e2e.webkit import chromium_path, login
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, free_port, stop_server

TEACHER = ("gv.thu", "Mật-khẩu-Giáo-viên-2025", "Trần Thị Thử")
SHOTS = Path(os.environ.get("HOSO_SHOTS", "/tmp/shots/remote"))


@dataclass
class World:
    live: LiveServer
    sim: CscSimulator
    token: str

    def upload(self, tmp: Path, title: str) -> str:
        pdf = make_pdf(tmp / f"{title}.pdf", pages=1, extra=title.encode())
        with self.live.client(self.token) as c:
            form = {"school": "T01", "type": "so-diem-ca-nhan", "year": "2024-2025", "title": title}
            r = c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())})
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    def version(self, doc_id: str) -> int:
        with self.live.client(self.token) as c:
            return int(c.get(f"/api/v1/documents/{doc_id}").json()["version"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    chromium_path()
    SHOTS.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("remote-web")
    sim_port = free_port()
    provider = {"key": "smartca-thu", "name": "SmartCA Thử", "base_url": f"http://127.0.0.1:{sim_port}",
                "client_id": "hoso", "client_secret": "hoso-secret"}  # fmt: skip
    live = boot(
        home, HOSO_DEFAULT_SIGNATURE_LEVEL="B-B", HOSO_REMOTE_SIGNING_PROVIDERS=json.dumps([provider])
    )
    add_server_user(live, TEACHER[0], TEACHER[1], TEACHER[2], ("gvbm", "T01"))
    sim = CscSimulator(Path(live.env["HOSO_DATA_DIR"]) / "dev-pki", person="teacher", port=sim_port).start()
    yield World(live, sim, live.token(TEACHER[0]))
    sim.stop()
    stop_server(live)


def _shoot(page: Any, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _at_provider(page: Any, otp: str, button: str = "#xac-nhan") -> None:
    """The person at the provider's page (here the simulator's; in real life the SmartCA / MySign app)."""
    page.locator("#den-nha-cung-cap").click()
    page.locator("#otp").wait_for()
    page.locator("#otp").fill(otp)
    page.locator(button).click()


def test_teacher_links_her_account_and_signs_three_records_with_one_confirmation(
    world: World, page: Any, tmp_path: Path
):
    base = world.live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    page.goto(base + "/tai-khoan")
    page.locator("#den-ky-tu-xa a").click()
    page.wait_for_url(base + "/tai-khoan/ky-tu-xa")
    assert page.locator("#chua-lien-ket").is_visible()
    _shoot(page, "tai-khoan-chua-lien-ket")
    page.locator("#lien-ket").click()
    page.locator("#den-nha-cung-cap").wait_for()
    assert "SmartCA Thử" in page.locator("h1").inner_text()
    _shoot(page, "lien-ket-sang-nha-cung-cap")
    _at_provider(page, world.sim.otp)
    page.wait_for_url(base + "/tai-khoan/ky-tu-xa?xong=lien-ket")
    listed = page.locator("#danh-sach-ky-tu-xa").inner_text()
    assert "SmartCA Thử · Trần Thị Thử" in listed
    _shoot(page, "tai-khoan-da-lien-ket")
    page.goto(base + "/tai-khoan")
    assert (
        "Trần Thị Thử" in page.locator("#danh-sach-chung-thu").inner_text()
    )  # registered like any certificate

    titles = [f"Sổ điểm cá nhân lớp 11A{n}" for n in range(1, 4)]
    ids = [world.upload(tmp_path, t) for t in titles]
    page.goto(base + "/cho-toi-ky")
    page.locator("#chon-tat-ca").check()
    assert "SmartCA Thử" in page.locator("#remote_account_id").inner_text()
    _shoot(page, "cho-toi-ky-tu-xa")
    page.locator("#ky-tu-xa-nut").click()
    page.wait_for_url(base + "/cho-toi-ky/ky-tu-xa")
    assert "Ký 3 hồ sơ bằng SmartCA Thử" in page.locator("h1").inner_text()
    _shoot(page, "ky-3-sang-nha-cung-cap")
    page.locator("#den-nha-cung-cap").click()
    page.locator("#yeu-cau").wait_for()
    assert page.locator("#yeu-cau").inner_text() == "Ký 3 tài liệu bằng chứng thư cred-1"
    page.locator("#otp").fill(world.sim.otp)
    page.locator("#xac-nhan").click()
    page.locator("#da-ky-tu-xa").wait_for()
    assert "Đã ký 3 hồ sơ" in page.locator("#da-ky-tu-xa").inner_text()
    rows = page.locator("#ket-qua-ky-tu-xa tbody tr").all_inner_texts()
    assert sorted(r.split("\t")[0].strip() for r in rows) == titles
    assert world.sim.signed == 3
    _shoot(page, "ket-qua-ky-tu-xa")
    # version 2 is the signature; it completes the one-step chain, so the system extends it to B-LTA: version 3
    assert [world.version(d) for d in ids] == [3, 3, 3]
    page.reload()  # coming back to the callback again signs nothing twice
    page.locator("#da-ky-tu-xa").wait_for()
    assert world.sim.signed == 3 and [world.version(d) for d in ids] == [3, 3, 3]


def test_declining_at_the_provider_from_a_records_page_changes_nothing(
    world: World, page: Any, tmp_path: Path
):
    base = world.live.base_url
    doc_id = world.upload(tmp_path, "Sổ điểm cá nhân — từ chối")
    login(page, base, TEACHER[0], TEACHER[1])
    page.goto(f"{base}/ho-so/{doc_id}/ky-ca-nhan")
    if page.locator("#ky-tu-xa-nut").count() == 0:  # this test alone: link first
        page.goto(base + "/tai-khoan/ky-tu-xa")
        page.locator("#lien-ket").click()
        _at_provider(page, world.sim.otp)
        page.wait_for_url(base + "/tai-khoan/ky-tu-xa?xong=lien-ket")
        page.goto(f"{base}/ho-so/{doc_id}/ky-ca-nhan")
    _shoot(page, "trang-ky-ho-so-tu-xa")
    page.locator("#ky-tu-xa-nut").click()
    _at_provider(page, world.sim.otp, "#tu-choi")
    page.locator("#chua-ky-tu-xa").wait_for()
    assert "Bạn đã từ chối xác nhận" in page.locator("#ket-qua-ky-tu-xa").inner_text()
    _shoot(page, "ket-qua-tu-choi")
    assert world.version(doc_id) == 1
