"""Personal signing and the school seal in a real Chromium against `hoso serve` with the dev PKI: the office uploads
a teacher's record, the teacher signs it from the page (their certificate in, the request out, `hoso sign-digest` with
their own PKCS#12 on "their computer", the signature back in), a wrong signature file changes nothing, then the office
seals it once and the button gives way to "Đã đóng dấu"."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login, logout
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, run_cli, stop_server

OFFICE = ("vanthu", "Mật-khẩu-Văn-thư-2025", "Nguyễn Thị Thư")
TEACHER = (
    "gvvan",
    "Mật-khẩu-Giáo-viên-2025",
    "Trần Thị Thử",
)  # the dev PKI's teacher is "Trần Thị Thử (TEST)"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    server = boot(tmp_path_factory.mktemp("web-sign"))
    add_server_user(server, OFFICE[0], OFFICE[1], OFFICE[2], ("van_thu", "T01"))
    add_server_user(server, TEACHER[0], TEACHER[1], TEACHER[2], ("gvbm", "T01"))
    pki = Path(server.env["HOSO_DATA_DIR"]) / "dev-pki"
    server.cli(
        "user", "cert", "add", TEACHER[0], str(pki / "teacher.cert.pem")
    )  # her certificate, registered
    yield server
    stop_server(server)


def upload_for_teacher(page: Any, base: str, pdf: Path, title: str) -> str:
    page.goto(base + "/tai-len")
    page.get_by_label("Trường").select_option("T01")
    page.get_by_label("Loại hồ sơ").select_option("khac")  # no signing chain: the plain rule applies
    page.get_by_label("Năm học").fill("2024-2025")
    page.get_by_label("Tên hồ sơ").fill(title)
    page.get_by_label("Giáo viên").fill(TEACHER[2])
    page.set_input_files("#file", str(pdf))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url("**/ho-so/*?moi=1")
    return str(page.url.split("?")[0])


def sign_digest(live: LiveServer, request: Path, out: Path) -> None:
    """The signer's side, on their own computer: their PKCS#12 (a USB token in real life) signs the request."""
    p12 = Path(live.env["HOSO_DATA_DIR"]) / "dev-pki" / "teacher.p12"
    env = live.env | {"HOSO_P12_PASSWORD": "hoso-dev-test"}
    run_cli("sign-digest", str(request), "--p12", str(p12), "--out", str(out), env=env)


def test_teacher_signs_own_record_then_office_seals_once(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, OFFICE[0], OFFICE[1])
    pdf = make_pdf(tmp_path / "Sổ theo dõi đánh giá lớp 10A2.pdf", pages=2, extra=b"ky-ca-nhan")
    doc_url = upload_for_teacher(page, base, pdf, "Sổ theo dõi và đánh giá học sinh lớp 10A2")
    assert page.locator("#ky-ca-nhan").count() == 0  # the office seals; it does not sign for the teacher
    logout(page, base)

    login(page, base, TEACHER[0], TEACHER[1])
    page.goto(doc_url)
    assert page.locator("#ky-so").count() == 0
    page.locator("#ky-ca-nhan").click()
    page.wait_for_url(doc_url + "/ky-ca-nhan")
    assert page.locator("#chung-thu-da-dang-ky input[type=radio]").count() == 1  # her registered certificate
    page.locator("#kind-person").check()
    preview = page.locator("#xem-truoc-chu-ky").inner_text()
    assert TEACHER[2] in preview and "GIÁO VIÊN" in preview  # from the account and her role, never typed
    page.locator("#mo-phien-ky").click()
    page.wait_for_url(doc_url + "/ky-ca-nhan/*")
    step2 = page.url
    command = page.locator("#lenh-ky").inner_text()
    assert command == (
        "hoso sign-digest yeu-cau.json --pkcs11-module … --token-label … --key-label … --out chu-ky.json"
    )
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải yêu cầu ký").click()
    assert info.value.suggested_filename == "yeu-cau.json"
    request = tmp_path / "yeu-cau.json"
    info.value.save_as(str(request))
    assert json.loads(request.read_text())["session_id"] == step2.rsplit("/", 1)[1]

    # the signer's side: their own key signs the request; a damaged copy of that signature is tried first
    signature = tmp_path / "chu-ky.json"
    sign_digest(live, request, signature)
    damaged = json.loads(signature.read_text())
    raw = bytearray(base64.b64decode(damaged["signature"]))
    raw[-1] ^= 0xFF
    damaged["signature"] = base64.b64encode(bytes(raw)).decode()
    wrong = tmp_path / "chu-ky-hong.json"
    wrong.write_text(json.dumps(damaged))
    page.set_input_files("#signature", str(wrong))
    page.get_by_role("button", name="Nộp chữ ký").click()
    page.wait_for_load_state()
    refusal = page.locator("#loi-ky").inner_text()
    assert "hồ sơ không thay đổi" in refusal and "không khớp với chứng thư số" in refusal
    page.goto(doc_url)
    assert len(page.locator("#phien-ban tbody tr").all()) == 1

    page.goto(step2)
    page.set_input_files("#signature", str(signature))
    page.get_by_role("button", name="Nộp chữ ký").click()
    page.wait_for_url(doc_url + "?da_ky=2&ca_nhan=1")
    notice = page.locator("#ket-qua-ky").inner_text()
    assert "Đã nhận chữ ký số cá nhân" in notice and "Hợp lệ" in notice
    rows = page.locator("#phien-ban tbody tr").all_inner_texts()
    assert len(rows) == 2 and TEACHER[2] in rows[0] and "Ký số cá nhân" in rows[0]  # people by their names
    page.screenshot(path=str(tmp_path / "ky-ca-nhan.png"), full_page=True)
    logout(page, base)

    # the office seals the teacher-signed version once; afterwards "Đã đóng dấu" instead of the button
    login(page, base, OFFICE[0], OFFICE[1])
    page.goto(doc_url)
    assert page.locator("#da-dong-dau").count() == 0
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#ky-so").click()
    page.wait_for_url(doc_url + "?da_ky=3")
    assert "Hợp lệ" in page.locator("#ket-qua-ky").inner_text()
    assert page.locator("#ky-so").count() == 0
    assert "Đã đóng dấu" in page.locator("#da-dong-dau").inner_text()
    page.screenshot(path=str(tmp_path / "da-dong-dau.png"), full_page=True)
    page.locator("#kiem-tra").click()
    signers = page.locator("section.signature").all_inner_texts()
    assert any(TEACHER[2] in s for s in signers)  # both signatures are in the report
    assert (tmp_path / "da-dong-dau.png").read_bytes()[:4] == b"\x89PNG"
