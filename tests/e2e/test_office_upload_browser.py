"""A teacher uploads a Word lesson plan in Chromium: it is stored as PDF/A-2b (the page says so), the PDF/A and the
original .docx both download; a .docm with macros is refused on a Vietnamese page, nothing stored. Screenshots at
desktop and phone width go to /tmp/shots/w14."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive import conversion
from tests.e2e.webkit import chromium_path, login
from tests.factories import add_server_user, boot
from tests.integration import officekit
from tests.processes import LiveServer, stop_server

TEACHER = ("gv.van", "Mật-khẩu-Giáo-viên-2025", "Nguyễn Thị Hồng Nhung")
SHOTS = Path("/tmp/shots/w14")

pytestmark = pytest.mark.skipif(not conversion.available(), reason="LibreOffice (soffice) is not installed")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    server = boot(tmp_path_factory.mktemp("office-web"))
    add_server_user(server, TEACHER[0], TEACHER[1], TEACHER[2], ("gvbm", "T01"))
    yield server
    stop_server(server)


def _upload(page: Any, base: str, file: Path, title: str) -> None:
    page.goto(base + "/tai-len")
    page.get_by_label("Trường").select_option("T01")
    page.get_by_label("Loại hồ sơ").select_option("ke-hoach-bai-day")
    page.get_by_label("Năm học").fill("2024-2025")
    page.get_by_label("Tên hồ sơ").fill(title)
    page.set_input_files("#file", str(file))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_load_state()


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_teacher_uploads_a_word_plan_and_gets_pdfa_and_original(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    plan = officekit.docx(tmp_path / "Kế hoạch bài dạy Ngữ văn 10.docx")
    _upload(page, base, plan, "Kế hoạch bài dạy — Chiếu dời đô")
    assert "/ho-so/" in page.url, page.content()[:2000]
    notice = page.locator("#da-chuyen-pdfa").inner_text()
    assert "PDF/A-2b" in notice and plan.name in notice
    _shoot(page, "office-plan")

    with page.expect_download() as info:
        page.locator("#tai-ve").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and info.value.suggested_filename.endswith(".pdf")
    with page.expect_download() as info:
        page.locator("#tai-tep-goc").click()
    assert Path(info.value.path()).read_bytes() == plan.read_bytes()
    assert info.value.suggested_filename == plan.name
    # a PDF/A is signable: the record is not stuck as "not signable"
    assert page.locator("#kiem-tra").count() == 1


def test_macro_document_is_refused_on_a_vietnamese_page(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    _upload(page, base, officekit.docx(tmp_path / "giao-an-co-macro.docx", macros=True), "Giáo án có macro")
    text = page.locator("main").inner_text()
    assert "macro" in text and "không có macro" in text
    assert "/ho-so/" not in page.url
    _shoot(page, "office-macro-refused")


def test_content_search_finds_the_plan_with_its_passage(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    page.get_by_role("link", name="Tìm nội dung").click()
    page.wait_for_url(base + "/tim-kiem")
    page.get_by_label("Từ cần tìm").fill("chieu doi do LY CONG UAN")
    page.locator("#tim").click()
    page.wait_for_load_state()
    assert "1 hồ sơ" in page.locator("#tong-so").inner_text()
    result = page.locator("#ket-qua li").first
    assert "Chiếu dời đô" in result.inner_text() and "Lý Công Uẩn" in result.inner_text()
    assert [m for m in page.locator("#ket-qua mark").all_inner_texts()][:2] == ["“Chiếu", "dời"]
    _shoot(page, "content-search")
    page.goto(base + "/tim-kiem?q=kh%C3%B4ng+c%C3%B3+t%E1%BB%AB+n%C3%A0y")
    assert "Không tìm thấy" in page.locator("#ket-qua").inner_text()


def test_validation_page_says_what_changed_after_signing(live: LiveServer, page: Any, tmp_path: Path):
    """A form signed, then its filled field re-drawn (a shadow attack): the report page names the field."""
    from signing import sign_pdf
    from tests.fuzz.test_fuzz_pdf_readers import _self_signed_signer
    from tests.integration.signing.attackfiles import form_pdf, set_field

    _, signer = _self_signed_signer()
    attacked = set_field(sign_pdf(form_pdf(), signer, level="B-B"), "diem", b"10")
    path = tmp_path / "bang-diem-da-ky.pdf"
    path.write_bytes(attacked)
    base = live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    _upload(page, base, path, "Bảng điểm đã ký")
    assert "/ho-so/" in page.url, page.content()[:2000]
    page.locator("#kiem-tra").click()
    page.wait_for_url("**/kiem-tra")
    assert "Không hợp lệ" in page.locator("#ket-luan").inner_text()
    findings = page.locator(".findings").inner_text()
    assert "diem" in findings and "sau khi ký" in findings
    _shoot(page, "validation-shadow-attack")
