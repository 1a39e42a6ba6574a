"""Issue 14's "done when" in Chromium against `hoso serve`: a teacher uploads a Word lesson plan, it is stored as
PDF/A-2b, she signs it from the page with her own key from the dev PKI, and the head of her professional group (from
the roster) approves it by signing in turn. The final PDF validates TOTAL_PASSED in hoso, its text is the plan's
Vietnamese text, and the original .docx is still served beside it. Screenshots at desktop and phone width go to
/tmp/shots/w14b."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from archive import conversion
from signing.devpki import PEOPLE
from tests.e2e.webkit import chromium_path, login, logout, sign_from_page
from tests.factories import add_server_user, boot, make_pdf
from tests.integration import officekit
from tests.processes import LiveServer, stop_server

PASSWORD = "Mật-khẩu-Thử-2025"
YEAR = "2024-2025"
TEACHER, HEAD = "gv.nhung", "gv.truong"
# username → (dev PKI label, role)
SIGNERS = {TEACHER: ("teacher", "gvbm"), HEAD: ("teacher2", "to_truong")}
SHOTS = Path("/tmp/shots/w14b")

pytestmark = pytest.mark.skipif(not conversion.available(), reason="LibreOffice (soffice) is not installed")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    root = tmp_path_factory.mktemp("plan-chain")
    server = boot(root, HOSO_PDFA_NORMALISE="true")  # the default, which the test factories turn off
    # the CLI's dev PKI must be the server's: its certificates carry OCSP/CRL addresses at the base URL, and a `hoso`
    # command without HOSO_BASE_URL would remake them for http://127.0.0.1:8000, where nothing answers
    server.env["HOSO_BASE_URL"] = server.base_url
    pki = Path(server.env["HOSO_DATA_DIR"]) / "dev-pki"
    for username, (label, role) in SIGNERS.items():
        add_server_user(server, username, PASSWORD, PEOPLE[label][0], (role, "T01"))
        server.cli("user", "cert", "add", username, str(pki / f"{label}.cert.pem"))
    roster = root / "phan-cong.csv"
    roster.write_text(
        "nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,to_truong\n"
        f"{YEAR},10A1,Ngữ văn,{TEACHER},,Tổ Ngữ văn,\n"
        f"{YEAR},10A2,Ngữ văn,{HEAD},,Tổ Ngữ văn,x\n",
        encoding="utf-8",
    )
    server.cli("roster", "import", "--school", "T01", str(roster))
    yield server
    stop_server(server)


def _shoot(page: Any, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _sign_from_the_page(live: LiveServer, page: Any, doc_url: str, username: str, tmp_path: Path) -> None:
    label = SIGNERS[username][0]
    shoot = (lambda p: _shoot(p, "head-signing-session")) if username == HEAD else None
    sign_from_page(
        live,
        page,
        doc_url,
        username,
        PASSWORD,
        label,
        tmp_path,
        signer_name=PEOPLE[label][0],
        at_session=shoot,
    )


@pytest.mark.timeout(900)
def test_word_plan_signed_by_teacher_and_approved_by_group_head(live: LiveServer, page: Any, tmp_path: Path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live.base_url
    plan = officekit.docx(tmp_path / "Kế hoạch bài dạy Ngữ văn 10.docx")
    login(page, base, TEACHER, PASSWORD)
    page.goto(base + "/tai-len")
    page.get_by_label("Trường").select_option("T01")
    page.get_by_label("Loại hồ sơ").select_option("ke-hoach-bai-day")
    page.get_by_label("Năm học").fill(YEAR)
    page.get_by_label("Tên hồ sơ").fill("Kế hoạch bài dạy — Chiếu dời đô")
    page.get_by_label("Lớp").fill("10A1")
    page.set_input_files("#file", str(plan))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url("**/ho-so/*?moi=1", timeout=240_000)  # LibreOffice converts it, under load
    doc_url = page.url.split("?")[0]
    doc_id = doc_url.rsplit("/", 1)[1]
    assert "PDF/A-2b" in page.locator("#da-chuyen-pdfa").inner_text()
    assert "Chờ người lập ký" in page.locator("#trang-thai-ky").inner_text()
    logout(page, base)

    # the group head comes first: nothing to sign yet, and the page names who is awaited
    login(page, base, HEAD, PASSWORD)
    page.goto(doc_url)
    assert page.locator("#ky-ca-nhan").count() == 0
    assert "Người lập hồ sơ" in page.locator("#chua-den-luot").inner_text()
    _shoot(page, "head-waits-for-teacher")
    logout(page, base)

    _sign_from_the_page(live, page, doc_url, TEACHER, tmp_path)
    login(page, base, HEAD, PASSWORD)
    page.goto(doc_url)
    assert "Chờ Tổ trưởng duyệt" in page.locator("#trang-thai-ky").inner_text()
    logout(page, base)
    _sign_from_the_page(live, page, doc_url, HEAD, tmp_path)

    login(page, base, TEACHER, PASSWORD)
    page.goto(doc_url)
    assert "Hoàn tất" in page.locator("#trang-thai-ky").inner_text()
    _shoot(page, "plan-approved")
    with page.expect_download() as info:
        page.locator("#tai-ve").click()
    final = tmp_path / "final.pdf"
    info.value.save_as(str(final))
    with page.expect_download() as info:
        page.locator("#tai-tep-goc").click()
    assert (
        Path(info.value.path()).read_bytes() == plan.read_bytes()
    )  # the .docx as uploaded, after two signatures
    original = page.request.get(f"{base}/api/v1/documents/{doc_id}/content?rendition=original")
    assert original.status == 200 and original.body() == plan.read_bytes()
    page.goto(doc_url + "/kiem-tra")
    assert "Hợp lệ" in page.locator("#ket-luan").inner_text()
    _shoot(page, "plan-validation")
    logout(page, base)

    out = subprocess.run(
        [".venv/bin/hoso", "validate", str(final), "--json"], env=live.env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["verdict"] == "TOTAL_PASSED"
    with pikepdf.open(final) as pdf:
        assert (
            pdf.open_metadata().pdfa_status == "2B"
        )  # the signed file is the PDF/A, appended to, never rewritten
        flat = tmp_path / "flat.pdf"
        pdf.flatten_annotations("all")
        pdf.save(flat)
    text = subprocess.run(
        ["pdftotext", "-q", str(flat), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "“Chiếu dời đô” của Lý Công Uẩn" in text and "Rút kinh nghiệm" in text
    for label, _ in SIGNERS.values():
        assert text.count(PEOPLE[label][0]) == 1, PEOPLE[label][0]


def test_a_plain_pdf_plan_is_stored_as_pdfa_with_the_upload_kept(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    upload = make_pdf(tmp_path / "Giáo án Toán 10.pdf", text="Kế hoạch bài dạy Toán — Rút kinh nghiệm")
    login(page, base, TEACHER, PASSWORD)
    page.goto(base + "/tai-len")
    page.get_by_label("Trường").select_option("T01")
    page.get_by_label("Loại hồ sơ").select_option("ke-hoach-bai-day")
    page.get_by_label("Năm học").fill(YEAR)
    page.get_by_label("Tên hồ sơ").fill("Giáo án Toán 10")
    page.set_input_files("#file", str(upload))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url("**/ho-so/*?moi=1", timeout=240_000)
    notice = page.locator("#da-chuyen-pdfa").inner_text()
    assert "PDF/A-2b" in notice and upload.name in notice
    assert page.locator("#ky-ca-nhan").count() == 1  # her turn: the PDF/A is what she signs
    SHOTS.mkdir(parents=True, exist_ok=True)
    _shoot(page, "pdf-normalised")
    with page.expect_download() as info:
        page.locator("#tai-ve").click()
    with pikepdf.open(info.value.path()) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B"
    with page.expect_download() as info:
        page.locator("#tai-tep-goc").click()
    assert Path(info.value.path()).read_bytes() == upload.read_bytes()
