"""Issue 10's "done when": a học bạ walks its whole chain in Chromium against `hoso serve` — four subject teachers, the
homeroom teacher, the principal (each signing as themselves from the page with their own key from the dev PKI, their
certificate registered to their account) and the school seal by the office; out-of-turn attempts are refused by the
server; the final PDF validates TOTAL_PASSED in hoso, its signature rectangles do not intersect, every name is legible
once, and the signature page is rendered to a PNG that is looked at."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from signing import layout
from signing.devpki import PEOPLE
from tests.e2e.webkit import chromium_path, login, logout, sign_from_page
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, stop_server

PASSWORD = "Mật-khẩu-Thử-2025"
YEAR = "2024-2025"
# username → (dev PKI label, role, subject)
SIGNERS = {
    "gv.van": ("teacher", "gvbm", "Ngữ văn"),
    "gv.toan": ("teacher2", "gvbm", "Toán"),
    "gv.ly": ("teacher3", "gvbm", "Vật lý"),
    "gv.su": ("teacher4", "gvbm", "Lịch sử"),
    "gv.cn": ("homeroom", "gvcn", ""),
    "ht.mau": ("principal", "hieu_truong", ""),
}
SHOTS = Path("/tmp/shots/chain")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    root = tmp_path_factory.mktemp("chain")
    server = boot(root)
    pki = Path(server.env["HOSO_DATA_DIR"]) / "dev-pki"
    add_server_user(server, "vt.lan", PASSWORD, "Lê Thị Lan", ("van_thu", "T01"))
    for username, (label, role, _) in SIGNERS.items():
        add_server_user(server, username, PASSWORD, PEOPLE[label][0], (role, "T01"))
        server.cli("user", "cert", "add", username, str(pki / f"{label}.cert.pem"))
    roster = root / "phan-cong.csv"
    lines = ["nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,to_truong"]
    for username, (_, role, subject) in SIGNERS.items():
        if role == "gvbm":
            lines.append(f"{YEAR},12A1,{subject},{username},gv.cn,Tổ {subject},")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    server.cli("roster", "import", "--school", "T01", str(roster))
    yield server
    stop_server(server)


def _sign_from_the_page(live: LiveServer, page: Any, doc_url: str, username: str, tmp_path: Path) -> None:
    label = SIGNERS[username][0]
    shoot = (
        (lambda p: p.screenshot(path=str(SHOTS / "sign-step1.png"), full_page=True))
        if username == "gv.ly"
        else None
    )
    sign_from_page(
        live,
        page,
        doc_url,
        username,
        PASSWORD,
        label,
        tmp_path,
        signer_name=PEOPLE[label][0],
        at_preview=shoot,
    )


@pytest.mark.timeout(1200)  # seven people log in and sign in turn; setting them up is two dozen CLI runs
def test_hoc_ba_through_four_teachers_homeroom_principal_and_seal(
    live: LiveServer, page: Any, tmp_path: Path
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live.base_url
    login(page, base, "vt.lan", PASSWORD)
    page.goto(base + "/tai-len")
    page.get_by_label("Trường").select_option("T01")
    page.get_by_label("Loại hồ sơ").select_option("hoc-ba")
    page.get_by_label("Năm học").fill(YEAR)
    page.get_by_label("Tên hồ sơ").fill("Học bạ lớp 12A1")
    page.get_by_label("Lớp").fill("12A1")
    page.set_input_files(
        "#file", str(make_pdf(tmp_path / "hoc-ba-12A1.pdf", pages=2, text="Học bạ lớp 12A1"))
    )
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url("**/ho-so/*?moi=1")
    doc_url = page.url.split("?")[0]
    doc_id = doc_url.rsplit("/", 1)[1]
    assert "Chờ GVBM ký" in page.locator("#trang-thai-ky").inner_text()
    assert page.locator("#ky-so").count() == 0  # the seal is the last step: not offered yet
    logout(page, base)

    # the principal comes first: the page offers no signature and says who is awaited; the API refuses with 409
    login(page, base, "ht.mau", PASSWORD)
    page.goto(doc_url)
    assert page.locator("#ky-ca-nhan").count() == 0
    assert "Giáo viên bộ môn" in page.locator("#chua-den-luot").inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "document-waiting-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/quy-trinh-ky")
    page.screenshot(path=str(SHOTS / "chains.png"), full_page=True)
    page.goto(doc_url)
    refused = page.request.post(
        f"{base}/api/v1/documents/{doc_id}/signing-sessions",
        data=json.dumps(
            {"certificate": (Path(live.env["HOSO_DATA_DIR"]) / "dev-pki" / "principal.cert.pem").read_text()}
        ),
        headers={"Content-Type": "application/json", "X-CSRF-Token": _csrf(page)},
    )
    assert refused.status == 409 and refused.json()["error"] == "signing_out_of_order"
    logout(page, base)

    for username in ("gv.ly", "gv.van", "gv.su", "gv.toan"):
        _sign_from_the_page(live, page, doc_url, username, tmp_path)
    # the homeroom teacher's inbox lists the record; the page shows four signed steps
    login(page, base, "gv.cn", PASSWORD)
    page.goto(base + "/cho-toi-ky")
    assert "Học bạ lớp 12A1" in page.locator("#cho-ky").inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "inbox-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    logout(page, base)
    _sign_from_the_page(live, page, doc_url, "gv.cn", tmp_path)
    _sign_from_the_page(live, page, doc_url, "ht.mau", tmp_path)

    login(page, base, "vt.lan", PASSWORD)
    page.goto(doc_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#ky-so").click()
    page.wait_for_url(doc_url + "?da_ky=*", timeout=240_000)  # signing + validating 7 signatures, under load
    assert "Hoàn tất" in page.locator("#trang-thai-ky").inner_text()
    assert page.locator("#ky-so").count() == 0
    page.screenshot(path=str(SHOTS / "document-complete.png"), full_page=True)
    with page.expect_download() as info:
        page.locator("#tai-ve").click()
    final = tmp_path / "final.pdf"
    info.value.save_as(str(final))
    page.goto(doc_url + "/kiem-tra")
    assert "Hợp lệ" in page.locator("body").inner_text()
    logout(page, base)

    out = subprocess.run(
        [".venv/bin/hoso", "validate", str(final), "--json"], env=live.env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["verdict"] == "TOTAL_PASSED"
    data = final.read_bytes()
    visible = [f for f in layout.signature_fields(data) if f.signed and f.rect[2] - f.rect[0] > 1]
    assert len(visible) == 7
    for i, a in enumerate(visible):
        for b in visible[i + 1 :]:
            assert a.page != b.page or not layout.intersects(a.rect, b.rect), (a, b)
    flat = tmp_path / "flat.pdf"
    with pikepdf.open(final) as pdf:
        pdf.flatten_annotations("all")
        pdf.save(flat)
    text = subprocess.run(
        ["pdftotext", "-q", str(flat), "-"], capture_output=True, text=True, check=True
    ).stdout
    for label, _, _ in SIGNERS.values():
        assert text.count(PEOPLE[label][0]) == 1, PEOPLE[label][0]
    page_ix = max(f.page for f in visible) + 1
    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", "-f", str(page_ix), "-l", str(page_ix), str(flat), str(SHOTS / "signature-page")],
        check=True,
    )  # fmt: skip
    assert list(SHOTS.glob("signature-page*.png"))


def _csrf(page: Any) -> str:
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))
