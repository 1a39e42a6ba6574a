"""The school office uploads a class's 40 exported files in Chromium: the page reads type and class from each name,
the person corrects the one name that says nothing, confirms, and watches the progress bar; 38 are stored, a photo
(not a PDF) and a PDF with JavaScript are refused with their Vietnamese reasons, and the catalog holds exactly the 38.
A ZIP goes the same way (entry by entry), and without JavaScript the page is a plain multi-file form.
Screenshots at desktop and phone width go to /tmp/shots/batch."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.webkit import chromium_path, login
from tests.factories import add_server_user, boot, pdf_bytes
from tests.integration.test_batch_upload import js_pdf
from tests.processes import LiveServer, stop_server

OFFICE = ("vanthu.t01", "Mật-khẩu-Văn-thư-2025", "Phạm Thị Văn Thư")
TEACHER = ("gv.toan", "Mật-khẩu-Giáo-viên-2025", "Nguyễn Văn Toán")
SHOTS = Path("/tmp/shots/batch")
YEAR = "2024-2025"


@pytest.fixture
def live(tmp_path: Path, pg_url: str) -> Iterator[LiveServer]:
    chromium_path()
    server = boot(tmp_path, HOSO_DATABASE_URL=pg_url)
    add_server_user(server, OFFICE[0], OFFICE[1], OFFICE[2], ("van_thu", "T01"))
    add_server_user(server, TEACHER[0], TEACHER[1], TEACHER[2], ("gvbm", "T01"))
    yield server
    stop_server(server)


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def photo_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def class_exports(folder: Path) -> dict[str, Path]:
    """A class's exports as SMAS / vnEdu name them: 35 học bạ, the class book and the logbook, a list whose name says
    nothing, a photo and a PDF with JavaScript."""
    folder.mkdir()
    files = {
        f"HocBa_10A1_{i:02}_HocSinh{i}.pdf": pdf_bytes(text=f"Học bạ học sinh {i}") for i in range(1, 36)
    }
    files |= {
        "SoTheoDoiDanhGia_10A1.pdf": pdf_bytes(text="Sổ theo dõi và đánh giá học sinh 10A1"),
        "SoGhiDauBai_10A1_HK1.pdf": pdf_bytes(text="Sổ ghi đầu bài 10A1"),
        "Danh sach hoc sinh.pdf": pdf_bytes(text="Danh sách học sinh lớp 10A1"),
        "HocBa_10A1_36_anh-the.jpg": photo_jpeg(),
        "HocBa_10A1_37_HocSinh37.pdf": js_pdf(),
    }
    out = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    return out


def _row(page: Any, name: str) -> Any:
    return page.locator(f'#bang-tep tr[data-name="{name}"]')


def _open(page: Any, base: str) -> None:
    page.goto(base + "/tai-len")
    page.locator("#den-tai-len-nhieu").click()
    page.wait_for_url(base + "/tai-len-nhieu")
    page.get_by_label("Trường").select_option("T01")
    page.get_by_label("Năm học").fill(YEAR)


def test_a_class_of_40_files_with_two_refusals(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, OFFICE[0], OFFICE[1])
    _open(page, base)
    files = class_exports(tmp_path / "10A1")
    assert len(files) == 40
    page.set_input_files("#files", [str(p) for p in files.values()])
    expect(page.locator("#bang-tep tbody tr")).to_have_count(40)
    # what the names say, shown before anything is stored
    assert _row(page, "HocBa_10A1_07_HocSinh7.pdf").locator("select.loai").input_value() == "hoc-ba"
    assert _row(page, "HocBa_10A1_07_HocSinh7.pdf").locator("input.lop").input_value() == "10A1"
    book = _row(page, "SoTheoDoiDanhGia_10A1.pdf").locator("select.loai")
    assert book.input_value() == "so-theo-doi-danh-gia-lop"
    unknown = _row(page, "Danh sach hoc sinh.pdf")
    assert unknown.locator("select.loai").input_value() == ""
    assert "Chưa rõ loại hồ sơ" in unknown.inner_text()
    # the person fills in what the name did not say
    unknown.locator("select.loai").select_option(label="Tài liệu khác")
    unknown.locator("input.lop").fill("10A1")
    _shoot(page, "confirm")

    page.locator("#luu-tat-ca").click()
    expect(page.locator("#tom-tat")).to_contain_text("Xong", timeout=300_000)
    summary = page.locator("#tom-tat").inner_text()
    assert "đã lưu mới 38 tệp" in summary and "bị từ chối 2" in summary, summary
    assert "HocBa_10A1_36_anh-the.jpg, HocBa_10A1_37_HocSinh37.pdf" in summary
    assert page.locator("#luu-tat-ca").is_hidden()  # stored: nothing left to confirm
    assert page.locator("#tien-do").evaluate("p => [p.value, p.max]") == [40, 40]
    assert page.locator("#dem-tien-do").inner_text() == "40/40"
    photo = _row(page, "HocBa_10A1_36_anh-the.jpg").inner_text()
    assert "Bị từ chối" in photo and "Loại tệp không được hỗ trợ" in photo, photo
    script = _row(page, "HocBa_10A1_37_HocSinh37.pdf").inner_text()
    assert "Bị từ chối" in script and "mã" in script.lower(), script
    assert page.locator("#bang-tep tr.stored").count() == 38
    assert page.locator("#bang-tep tr.refused").count() == 2
    _shoot(page, "results")

    # the catalog holds exactly the 38, with the class and types confirmed
    with live.client(live.token()) as api:
        listing = api.get("/api/v1/documents", params={"school": "T01", "limit": 1000}).json()
    assert listing["total"] == 38
    types = sorted(d["type"] for d in listing["items"])
    assert types.count("hoc-ba") == 35 and {"so-theo-doi-danh-gia-lop", "so-ghi-dau-bai", "khac"} <= set(
        types
    )
    assert {d["class_name"] for d in listing["items"]} == {"10A1"}
    assert not any("37" in d["title"] or "anh-the" in d["title"] for d in listing["items"])

    # a stored row links to its record
    _row(page, "SoGhiDauBai_10A1_HK1.pdf").get_by_role("link", name="Xem hồ sơ").click()
    page.wait_for_load_state()
    assert "Sổ ghi đầu bài" in page.locator("main").inner_text()


def test_a_zip_goes_entry_by_entry_and_again_as_duplicates(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    login(page, base, OFFICE[0], OFFICE[1])
    bundle = tmp_path / "Lop 6A.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(1, 5):
            z.writestr(f"6A/hocbaso_6A_{i}.pdf", pdf_bytes(text=f"Học bạ 6A số {i}"))
        z.writestr("6A/Giao an Toan 6A.pdf", pdf_bytes(text="Kế hoạch bài dạy Toán 6A"))
    for attempt, expected in (("zip-results", "đã lưu mới 4 tệp"), ("zip-again", "đã có sẵn 4")):
        _open(page, base)
        page.set_input_files("#files", str(bundle))
        expect(page.locator("#bang-tep tbody tr")).to_have_count(5)
        plan = page.locator('#bang-tep tr[data-name="6A/Giao an Toan 6A.pdf"]')
        # a teacher's lesson plan: shown as read, marked as outside the office's rights, refused by the server
        assert "ngoài quyền của bạn" in plan.locator("select.loai option:checked").inner_text()
        page.locator("#luu-tat-ca").click()
        expect(page.locator("#tom-tat")).to_contain_text("Xong")
        summary = page.locator("#tom-tat").inner_text()
        assert expected in summary and "bị từ chối 1" in summary, summary
        assert "Bạn không có quyền" in plan.inner_text()
        _shoot(page, attempt)


def test_a_teacher_drops_lesson_plans(live: LiveServer, page: Any):
    """Dropped (not chosen) files; the teacher's name filled from the account; a học bạ is not a teacher's to store."""
    base = live.base_url
    login(page, base, TEACHER[0], TEACHER[1])
    _open(page, base)
    assert page.get_by_label("Giáo viên").input_value() == TEACHER[2]
    files = {
        "Giao an Toan 10A2 tuan 5.pdf": pdf_bytes(text="Kế hoạch bài dạy Toán — Rút kinh nghiệm"),
        "KHBD_Toan_10A3_tuan6.pdf": pdf_bytes(text="Kế hoạch bài dạy Toán tuần 6 — Rút kinh nghiệm"),
        "HocBa_10A2_01.pdf": pdf_bytes(text="Học bạ"),
    }
    dropped = page.evaluate_handle(
        """files => {
            const dt = new DataTransfer();
            for (const [name, b64] of Object.entries(files)) {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], name, { type: "application/pdf" }));
            }
            return dt;
        }""",
        {name: base64.b64encode(data).decode() for name, data in files.items()},
    )
    page.dispatch_event("#vung-tha", "drop", {"dataTransfer": dropped})
    expect(page.locator("#bang-tep tbody tr")).to_have_count(3)
    assert _row(page, "KHBD_Toan_10A3_tuan6.pdf").locator("select.loai").input_value() == "ke-hoach-bai-day"
    assert "ngoài quyền của bạn" in _row(page, "HocBa_10A2_01.pdf").inner_text()
    page.locator("#luu-tat-ca").click()
    expect(page.locator("#tom-tat")).to_contain_text("Xong")
    assert "đã lưu mới 2 tệp" in page.locator("#tom-tat").inner_text()
    assert "Bạn không có quyền" in _row(page, "HocBa_10A2_01.pdf").inner_text()
    _shoot(page, "teacher-drop")
    with live.client(live.token()) as api:
        items = api.get("/api/v1/documents", params={"school": "T01"}).json()["items"]
    assert sorted((d["type"], d["class_name"], d["teacher"]) for d in items) == [
        ("ke-hoach-bai-day", "10A2", TEACHER[2]),
        ("ke-hoach-bai-day", "10A3", TEACHER[2]),
    ]


def test_without_javascript_the_page_is_a_plain_form(live: LiveServer, chromium: Any, tmp_path: Path):
    context = chromium.new_context(java_script_enabled=False, locale="vi-VN")
    page = context.new_page()
    try:
        base = live.base_url
        login(page, base, OFFICE[0], OFFICE[1])
        page.goto(base + "/tai-len-nhieu")
        assert page.locator("#xac-nhan").is_hidden()
        page.get_by_label("Năm học").fill(YEAR)
        folder = tmp_path / "11B"
        folder.mkdir()
        paths = []
        for name, data in {
            "Hoc ba 11B - Tran Van Binh.pdf": pdf_bytes(text="Học bạ Trần Văn Bình"),
            "So dang bo.pdf": pdf_bytes(text="Sổ đăng bộ"),
            "anh.jpg": photo_jpeg(),
        }.items():
            (folder / name).write_bytes(data)
            paths.append(str(folder / name))
        page.set_input_files("#files", paths)
        _shoot(page, "nojs-form")
        page.locator("#nut-tai-len").click()
        page.wait_for_load_state()
        text = page.locator("#tom-tat-ket-qua").inner_text()
        assert "Đã lưu mới 2 tệp" in text and "bị từ chối 1" in text, text
        assert page.locator("#ket-qua tr.refused").inner_text().count("Không đọc được loại hồ sơ") == 1
        _shoot(page, "nojs-results")
    finally:
        context.close()
