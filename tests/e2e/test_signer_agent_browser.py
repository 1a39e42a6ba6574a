"""Signing from the browser with hoso-signer: a real agent process with a SoftHSM token, a live hoso, real Chromium.
The principal signs one record from its page and twenty from "Chờ tôi ký" with one PIN entry (typed in the agent's
own window); a wrong PIN stops after two tries and changes nothing; without the agent the page says how to install it
and keeps the file steps; a page of another origin gets nothing from the agent."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, free_port, stop_server
from tests.signer_agent_kit import (
    PIN,
    AgentProcess,
    make_token,
    require_softhsm,
    start_agent,
    stop_agent,
)

OFFICE = ("vanthu", "Mật-khẩu-Văn-thư-2025", "Nguyễn Thị Thư")
PRINCIPAL = ("htmau", "Mật-khẩu-Hiệu-trưởng-2025", "Nguyễn Văn Mẫu")
SHOTS = Path(os.environ.get("HOSO_SHOTS", "/tmp/shots/w11"))


class World:
    def __init__(self, live: LiveServer, agent: AgentProcess, restart: Any, clerk: str) -> None:
        self.live, self.agent, self.restart, self.clerk = live, agent, restart, clerk

    def ensure_registered(self) -> None:
        """The principal's certificate bound to his account (the first test does it from the token, on the page)."""
        listed = self.live.cli("user", "cert", "list", PRINCIPAL[0], "--json").stdout
        if "Nguyễn Văn Mẫu" not in listed:
            pem = Path(self.live.env["HOSO_DATA_DIR"]) / "dev-pki" / "principal.cert.pem"
            self.live.cli("user", "cert", "add", PRINCIPAL[0], str(pem))

    def upload(self, tmp: Path, title: str) -> str:
        pdf = make_pdf(tmp / f"{title}.pdf", pages=1, extra=title.encode())
        with self.live.client(self.clerk) as c:
            form = {"school": "T01", "type": "so-dang-bo", "year": "2024-2025", "title": title}
            r = c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())})
            assert r.status_code == 201, r.text
            return str(r.json()["id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    chromium_path()
    require_softhsm()
    home = tmp_path_factory.mktemp("agent-web")
    agent_port = free_port()
    live = boot(
        home, HOSO_SIGNER_AGENT_URL=f"http://127.0.0.1:{agent_port}", HOSO_DEFAULT_SIGNATURE_LEVEL="B-B"
    )
    add_server_user(live, OFFICE[0], OFFICE[1], OFFICE[2], ("van_thu", "T01"))
    add_server_user(live, PRINCIPAL[0], PRINCIPAL[1], PRINCIPAL[2], ("hieu_truong", "T01"))
    pki = Path(live.env["HOSO_DATA_DIR"]) / "dev-pki"
    hsm = make_token(home / "softhsm", pki)
    agents: list[AgentProcess] = []

    def restart() -> AgentProcess:
        agents.append(start_agent(home / "agent-state", [live.base_url], hsm, port=agent_port))
        return agents[-1]

    w = World(live, restart(), restart, live.token(OFFICE[0]))
    yield w
    for a in agents:
        stop_agent(a)
    stop_server(live)


def _pair(page: Any, agent: AgentProcess) -> None:
    """First use in this browser: the person reads the code off the agent's console and types it into the page."""
    page.locator("#agent-bat-dau-ghep").click()
    page.locator("#agent-ma").wait_for()
    page.locator("#agent-ma").fill(agent.pairing_code())
    page.locator("#agent-xac-nhan").click()
    page.locator("#agent-san-sang").wait_for()


def _sign_in_popup(page: Any, pins: list[str]) -> Any:
    with page.expect_popup() as info:
        page.locator("#agent-ky").click()
    popup = info.value
    popup.wait_for_url("**/ky/*")
    popup.locator("#pin").wait_for()
    for pin in pins:
        popup.locator("#pin").fill(pin)
        popup.locator("#ky").click()
        popup.wait_for_load_state()
    return popup


def test_principal_registers_from_the_token_and_signs_one_record(world: World, page: Any, tmp_path: Path):
    base = world.live.base_url
    doc_id = world.upload(tmp_path, "Sổ đăng bộ 2024-2025 khối 10")
    login(page, base, PRINCIPAL[0], PRINCIPAL[1])
    page.goto(f"{base}/ho-so/{doc_id}/ky-ca-nhan")
    page.locator("#agent-ghep-noi").wait_for()
    _pair(page, world.agent)
    # nothing registered yet: the agent offers the token's certificates; he registers his own (checked by hoso)
    offer = page.locator("#agent-chua-dang-ky li", has_text="Nguyễn Văn Mẫu")
    offer.wait_for()
    page.screenshot(path=str(SHOTS / "dang-ky-tu-token.png"), full_page=True)
    offer.get_by_role("button", name="Đăng ký chứng thư này").click()
    page.wait_for_url("**/tai-khoan?xong=chung_thu*")
    assert "Nguyễn Văn Mẫu" in page.locator("#danh-sach-chung-thu").inner_text()
    page.goto(f"{base}/ho-so/{doc_id}/ky-ca-nhan")
    # the registered certificate that is on the token is marked and chosen
    page.locator("#chung-thu-da-dang-ky .on-token").wait_for()
    assert "có trên USB token" in page.locator("#chung-thu-da-dang-ky").inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "buoc1-agent.png"), full_page=True)
    page.locator("#mo-phien-ky").click()
    page.wait_for_url(f"{base}/ho-so/{doc_id}/ky-ca-nhan/*")
    page.locator("#agent-ky").wait_for()
    assert "hoso-signer" in page.locator("#agent-trang-thai").inner_text()
    page.screenshot(path=str(SHOTS / "buoc2-agent.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "buoc2-agent-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_popup() as info:
        page.locator("#agent-ky").click()
    popup = info.value
    popup.wait_for_url("**/ky/*")
    shown = popup.locator("body").inner_text()
    assert "Sổ đăng bộ 2024-2025 khối 10" in shown and "Trường THPT Thử Nghiệm" in shown
    popup.set_viewport_size({"width": 560, "height": 720})
    popup.screenshot(path=str(SHOTS / "agent-pin.png"), full_page=True)
    popup.locator("#pin").fill(PIN)
    popup.locator("#ky").click()
    page.wait_for_url(f"{base}/ho-so/{doc_id}?da_ky=2&ca_nhan=1", timeout=120_000)
    assert "Đã nhận chữ ký số cá nhân" in page.locator("#ket-qua-ky").inner_text()
    assert "Hợp lệ" in page.locator("#ket-qua-ky").inner_text()
    page.screenshot(path=str(SHOTS / "da-ky-agent.png"), full_page=True)


def test_principal_signs_twenty_from_the_inbox_with_one_pin(world: World, page: Any, tmp_path: Path):
    base = world.live.base_url
    world.ensure_registered()
    titles = [f"Sổ đăng bộ lớp 10A{n:02d}" for n in range(1, 21)]
    for title in titles:
        world.upload(tmp_path, title)
    login(page, base, PRINCIPAL[0], PRINCIPAL[1])
    page.goto(base + "/cho-toi-ky")
    page.locator("#agent-ghep-noi").wait_for()
    _pair(page, world.agent)
    page.locator("#chon-tat-ca").check()
    # the page marks the certificates once the agent has listed its token, a moment after pairing
    page.wait_for_function(
        "() => document.querySelector('#certificate_id option').textContent.endsWith('có trên USB token')"
    )
    page.locator("#ky-cac-ho-so-chon").click()
    page.wait_for_url(base + "/cho-toi-ky/ky-nhieu")
    page.locator("#agent-ky").wait_for()  # paired already in this browser: straight to signing
    with page.expect_popup() as info:
        page.locator("#agent-ky").click()
    popup = info.value
    popup.wait_for_url("**/ky/*")
    assert popup.locator("#so-ho-so").inner_text() == "20"
    listed = popup.locator("#danh-sach li").all_inner_texts()
    assert sorted(listed) == titles
    popup.locator("#pin").fill(PIN)
    popup.locator("#ky").click()
    page.locator("#da-ky-nhieu").wait_for(timeout=240_000)
    assert "Đã nhận và gắn 20 chữ ký số" in page.locator("#da-ky-nhieu").inner_text()
    page.screenshot(path=str(SHOTS / "ky-20-ho-so.png"), full_page=True)
    with world.live.client(world.clerk) as c:
        for doc in c.get("/api/v1/documents", params={"q": "Sổ đăng bộ lớp 10A"}).json()["items"]:
            assert doc["version"] == 2


def test_wrong_pin_twice_changes_nothing_and_the_token_is_not_locked(world: World, page: Any, tmp_path: Path):
    base = world.live.base_url
    world.ensure_registered()
    doc_id = world.upload(tmp_path, "Sổ đăng bộ — thử PIN sai")
    login(page, base, PRINCIPAL[0], PRINCIPAL[1])
    page.goto(f"{base}/ho-so/{doc_id}/ky-ca-nhan")
    _pair(page, world.agent)
    page.locator("#mo-phien-ky").click()
    page.wait_for_url(f"{base}/ho-so/{doc_id}/ky-ca-nhan/*")
    step2 = page.url
    page.locator("#agent-ky").wait_for()
    with page.expect_popup() as info:
        page.locator("#agent-ky").click()
    popup = info.value
    popup.wait_for_url("**/ky/*")
    popup.locator("#pin").fill("000000")
    popup.locator("#ky").click()
    popup.locator("#loi").wait_for()
    assert "Mã PIN không đúng. Chưa hồ sơ nào được ký." in popup.locator("#loi").inner_text()
    popup.screenshot(path=str(SHOTS / "agent-sai-pin.png"), full_page=True)
    popup.locator("#pin").fill("999999")
    popup.locator("#ky").click()
    page.locator("#agent-loi").wait_for()
    message = page.locator("#agent-loi").inner_text()
    assert "Mã PIN không đúng" in message and "Hồ sơ không thay đổi" in message
    page.screenshot(path=str(SHOTS / "sai-pin-trang.png"), full_page=True)
    with world.live.client(world.clerk) as c:
        assert c.get(f"/api/v1/documents/{doc_id}").json()["version"] == 1
    # not locked: the right PIN on a new try signs
    page.goto(step2)
    _sign_in_popup(page, [PIN])
    page.wait_for_url(f"{base}/ho-so/{doc_id}?da_ky=2&ca_nhan=1", timeout=120_000)


def test_without_the_agent_the_page_explains_and_keeps_the_file_steps(
    world: World, page: Any, tmp_path: Path
):
    base = world.live.base_url
    world.ensure_registered()
    doc_id = world.upload(tmp_path, "Sổ đăng bộ — không có agent")
    stop_agent(world.agent)
    try:
        login(page, base, PRINCIPAL[0], PRINCIPAL[1])
        page.goto(f"{base}/ho-so/{doc_id}/ky-ca-nhan")
        page.locator("#mo-phien-ky").click()
        page.wait_for_url(f"{base}/ho-so/{doc_id}/ky-ca-nhan/*")
        page.locator("#agent-khong-co").wait_for()
        text = page.locator("#agent-khong-co").inner_text()
        assert "Chưa tìm thấy phần mềm ký hoso-signer" in text and f"--origin {base}" in text
        assert page.locator("#agent-ky").is_hidden()
        assert page.locator("#tai-yeu-cau").is_visible() and page.locator("#nop-chu-ky").is_visible()
        page.screenshot(path=str(SHOTS / "khong-co-agent.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "khong-co-agent-phone.png"), full_page=True)
    finally:
        world.agent = world.restart()


class _Stranger(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>trang khac</title><p>trang khac</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_page_of_another_origin_gets_nothing_from_the_agent(world: World, page: Any):
    stranger = ThreadingHTTPServer(("127.0.0.1", 0), _Stranger)
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{stranger.server_address[1]}/")
        world.agent.lines.clear()
        outcome = page.evaluate(
            """async (agent) => {
                const tryIt = (path, init) => fetch(agent + path, init).then(r => r.status).catch(() => 'blocked');
                return {
                    status: await tryIt('/status', {}),
                    pair: await tryIt('/pair', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}),
                    certs: await tryIt('/certificates', {headers: {'Authorization': 'Bearer x'}}),
                };
            }""",
            world.agent.url,
        )
        assert outcome == {"status": "blocked", "pair": "blocked", "certs": "blocked"}
        assert not any("Mã ghép nối" in line for line in world.agent.lines)  # no pairing was even started
    finally:
        stranger.shutdown()
