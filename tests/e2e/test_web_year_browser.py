"""Issue 12 in a real Chromium: the office finds records without typing diacritics and sorts the list; the principal
locks a school year's học bạ on the Khóa sổ page, the lock shows on the list and on the record; the school
administrator unlocks only on the principal's instruction; a teacher edits, replaces and withdraws a record before the
lock. Every page at desktop and phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webkit import chromium_path, login, logout
from tests.e2e.year_pages import PASSWORD, fits_phone, seed, shots
from tests.factories import boot, make_pdf
from tests.processes import LiveServer, stop_server


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    chromium_path()
    tmp = tmp_path_factory.mktemp("year")
    server = boot(tmp)
    ids = seed(server, tmp)
    yield server, ids
    stop_server(server)


def rows(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#danh-sach tbody tr td:first-child a").all_inner_texts()]


def test_search_without_diacritics_sort_and_filters(world: tuple[LiveServer, dict[str, str]], page: Any):
    server, _ = world
    base = server.base_url
    login(page, base, "vanthu", PASSWORD)
    page.get_by_label("Tìm kiếm").fill("so theo doi")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    assert rows(page) == ["Sổ theo dõi và đánh giá học sinh lớp 10A1"]
    page.get_by_label("Tìm kiếm").fill("HOC BA 10a2")
    page.get_by_role("button", name="Lọc").click()
    assert rows(page) == ["Học bạ lớp 10A2"]

    page.goto(base + "/ho-so")
    page.locator("a.sort[data-sort=title]").click()
    page.wait_for_load_state()
    ascending = rows(page)
    assert ascending == [  # A→Z without regard to diacritics
        "Học bạ lớp 10A1",
        "Học bạ lớp 10A2",
        "Sổ đăng bộ khóa 2022-2025",
        "Sổ theo dõi và đánh giá học sinh lớp 10A1",
    ]
    assert (
        page.locator("th[aria-sort=descending], th[aria-sort=ascending]").inner_text().startswith("Tên hồ sơ")
    )
    page.locator("a.sort[data-sort=title]").click()  # the same heading again: the other way round
    page.wait_for_load_state()
    assert rows(page) == list(reversed(ascending))
    page.locator("a.sort[data-sort=class]").click()
    page.wait_for_load_state()
    by_class = rows(page)
    assert (
        "sort=class" in page.url
        and by_class[0] == "Sổ đăng bộ khóa 2022-2025"
        and by_class[-1] == "Học bạ lớp 10A2"
    )
    # the filters keep the order chosen, and "mine" shows what this person stored
    page.locator("#f-mine").check()
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    assert "mine=1" in page.url and "sort=class" in page.url and len(rows(page)) == 4
    shots(page, "danh-sach-ho-so")
    assert fits_phone(page)
    logout(page, base)


def test_principal_locks_a_year_and_the_lock_shows_everywhere(
    world: tuple[LiveServer, dict[str, str]], page: Any
):
    server, ids = world
    base = server.base_url
    login(page, base, "hieutruong", PASSWORD)
    page.get_by_role("link", name="Khóa sổ").click()
    page.wait_for_url(base + "/khoa-so")
    page.get_by_label("Năm học").select_option("2024-2025")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    row = page.locator("#loai-hoc-ba")
    assert "2" in row.locator("td").nth(1).inner_text()  # two học bạ this year
    assert page.locator("#theo-chi-dao").count() == 0  # the principal acts on their own authority
    row.locator("input[name=reason]").fill("Khóa học bạ cuối năm")
    row.get_by_role("button", name="Khóa sổ").click()
    page.wait_for_load_state()
    assert "Đã khóa sổ: Học bạ" in page.locator("#thong-bao").inner_text()
    status = page.locator("#loai-hoc-ba td").nth(2).inner_text()
    assert "Đã khóa" in status and "Phạm Văn Hiệu" in status and "Khóa học bạ cuối năm" in status
    assert page.locator("#mo-hoc-ba").is_visible() and page.locator("#khoa-hoc-ba").count() == 0
    shots(page, "khoa-so")
    assert fits_phone(page)

    # the list marks the locked records, and filters by lock
    page.goto(base + "/ho-so?locked=1")
    assert sorted(rows(page)) == ["Học bạ lớp 10A1", "Học bạ lớp 10A2"]
    assert page.locator("#danh-sach .tag.lock").count() == 2
    page.goto(base + f"/ho-so/{ids['Học bạ lớp 10A1']}")
    banner = page.locator("#da-khoa").inner_text()
    assert "Đã khóa sổ" in banner and "2024-2025" in banner and "Phạm Văn Hiệu" in banner
    shots(page, "ho-so-da-khoa")
    page.goto(base + f"/ho-so/{ids['Sổ đăng bộ khóa 2022-2025']}")
    assert page.locator("#da-khoa").count() == 0

    # the audit trail, newest first, says who locked what in Vietnamese; the record's page leads to its events
    page.goto(base + "/nhat-ky")
    first = page.locator("#su-kien tbody tr").first.inner_text()
    assert (
        "Phạm Văn Hiệu" in first and "Khóa hồ sơ" in first and "Học bạ (học bạ số) năm học 2024-2025" in first
    )
    assert "lock.add" not in first and "hieutruong" not in first
    shots(page, "nhat-ky")
    page.goto(base + f"/ho-so/{ids['Học bạ lớp 10A1']}")
    page.locator("#nhat-ky-ho-so").click()
    page.wait_for_load_state()
    events = page.locator("#su-kien tbody tr").all_inner_texts()
    assert events and all("Học bạ lớp 10A1" in e for e in events)
    assert "Tiếp nhận hồ sơ" in events[-1] and "Nguyễn Thị Thư" in events[-1]  # the oldest last
    logout(page, base)


def test_administrator_unlocks_only_on_the_principals_instruction(
    world: tuple[LiveServer, dict[str, str]], page: Any
):
    server, _ = world
    base = server.base_url
    login(page, base, "quantri", PASSWORD)
    page.goto(base + "/khoa-so?school=T01&year=2024-2025")
    assert page.locator("#theo-chi-dao").is_visible()
    row = page.locator("#loai-hoc-ba")
    choose = row.locator("select[name=instructed_by]")
    assert choose.locator("option").all_inner_texts() == ["— Hiệu trưởng chỉ đạo —", "Phạm Văn Hiệu"]
    # without naming the principal the browser does not send the form (the server refuses it too: locks.py)
    row.get_by_role("button", name="Mở khóa").click()
    assert page.url.endswith("/khoa-so?school=T01&year=2024-2025")
    choose.select_option("hieutruong")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Mở khóa").click()
    page.wait_for_url("**done=mo**")
    assert "Đã mở khóa: Học bạ" in page.locator("#thong-bao").inner_text()
    assert "Chưa khóa" in page.locator("#loai-hoc-ba td").nth(2).inner_text()
    shots(page, "khoa-so-quan-tri")

    # the inspector has no Khóa sổ menu, and the page itself refuses in Vietnamese
    logout(page, base)
    login(page, base, "thanhtra", PASSWORD)
    assert page.get_by_role("link", name="Khóa sổ").count() == 0
    response = page.goto(base + "/khoa-so")
    assert response is not None and response.status == 403
    assert "Chỉ Hiệu trưởng" in page.locator("main").inner_text()


def test_teacher_fixes_a_mistake_before_the_lock(
    world: tuple[LiveServer, dict[str, str]], page: Any, tmp_path: Path
):
    server, _ = world
    base = server.base_url
    login(page, base, "gvbm", PASSWORD)
    page.goto(base + "/tai-len")
    # only the types a teacher may upload, and the teacher field already holds the account's name
    offered = page.locator("#type option").all_inner_texts()
    assert "Kế hoạch bài dạy (giáo án)" in offered and "Học bạ (học bạ số)" not in offered
    assert page.get_by_label("Giáo viên").input_value() == "Nguyễn Thị Ánh"
    page.get_by_label("Loại hồ sơ").select_option("ke-hoach-bai-day")
    page.get_by_label("Tên hồ sơ").fill("Kế hoạch bài dạy Toán 10")
    page.locator("#class_name").fill("10A9")
    page.set_input_files("#file", str(make_pdf(tmp_path / "Giáo án Toán.pdf", extra=b"teacher")))
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_url("**moi=1")
    doc_url = page.url.split("?")[0]

    page.locator("#sua").click()
    page.wait_for_url(doc_url + "/sua")
    shots(page, "sua-ho-so")
    assert fits_phone(page)
    page.get_by_label("Lớp").fill("10A2")
    page.locator("#edit-reason").fill("nhập nhầm lớp")
    page.locator("#luu-thong-tin").click()
    page.wait_for_url("**da_sua=1**")
    history = page.locator("#lich-su-sua tbody").inner_text()
    assert (
        "10A9" in history and "10A2" in history and "nhập nhầm lớp" in history and "Nguyễn Thị Ánh" in history
    )

    page.locator("#sua").click()
    page.set_input_files("#file", str(make_pdf(tmp_path / "Giáo án Toán (sửa).pdf", extra=b"teacher-2")))
    page.locator("#replace-reason").fill("tải nhầm bản nháp")
    page.locator("#thay").click()
    page.wait_for_url("**thay=2")
    assert "phiên bản 2" in page.locator("#thong-bao").inner_text()
    assert "tải nhầm bản nháp" in page.locator("#phien-ban tbody tr").first.inner_text()

    page.locator("#sua").click()
    page.locator("#withdraw-reason").fill("tải lên nhầm năm học")
    page.once("dialog", lambda d: d.accept())
    page.locator("#rut").click()
    page.wait_for_url("**da_rut=1")
    assert "tải lên nhầm năm học" in page.locator("#da-rut").inner_text()
    assert page.locator("#sua").count() == 0  # a withdrawn record is not changed any more
    shots(page, "ho-so-da-rut")
    page.goto(base + "/ho-so?q=toan 10")
    assert rows(page) == []
    page.goto(base + "/ho-so?q=toan 10&status=withdrawn")
    assert rows(page) == ["Kế hoạch bài dạy Toán 10"]
    logout(page, base)

    # the inspector finds nothing, not even by its address
    login(page, base, "thanhtra", PASSWORD)
    response = page.goto(doc_url)
    assert response is not None and response.status == 404
    assert "Không tìm thấy" in page.locator("main").inner_text()


def test_the_year_overview_grid_and_its_csv(world: tuple[LiveServer, dict[str, str]], page: Any):
    server, _ = world
    base = server.base_url
    login(page, base, "hieutruong", PASSWORD)
    page.get_by_role("link", name="Tổng quan").click()
    page.get_by_label("Năm học").select_option("2024-2025")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    rows = [r.split("\t")[0].strip() for r in page.locator("#luoi tbody tr").all_inner_texts()]
    assert rows == ["10A1", "10A2", "Toàn trường"]
    cell = page.locator("#luoi tbody tr").first.locator("td[data-type=hoc-ba]").inner_text()
    assert "1 · 0 đã ký" in cell
    assert (
        page.locator("#luoi tbody tr").nth(1).locator("td[data-type=so-theo-doi-danh-gia-lop]").inner_text()
        == "—"
    )
    shots(page, "tong-quan")
    with page.expect_download() as info:
        page.locator("#tai-csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("truong,nam_hoc,lop,loai_ho_so")
    assert "T01,2024-2025,10A2,hoc-ba,Học bạ (học bạ số),1,0,0,0," in text
    logout(page, base)


def test_a_record_whose_copies_are_all_damaged_shows_a_red_banner(
    world: tuple[LiveServer, dict[str, str]], page: Any
):
    server, ids = world
    base = server.base_url
    doc_id = ids["Sổ đăng bộ khóa 2022-2025"]
    with server.client(server.token("vanthu")) as c:
        sha = c.get(f"/api/v1/documents/{doc_id}").json()["sha256"]
    var = Path(server.env["HOSO_DATA_DIR"])
    copies = [p for p in (var / "replicas").rglob(sha) if p.is_file()]
    assert len(copies) == 3
    for p in copies:
        p.chmod(0o644)
        p.write_bytes(b"%PDF-1.7 damaged beyond repair")
    login(page, base, "vanthu", PASSWORD)
    # a download from the page fails as a Vietnamese page, never the API's JSON
    response = page.goto(base + f"/ho-so/{doc_id}/tai-ve")
    assert response is not None and response.status == 503
    assert "Không có bản sao nào còn nguyên vẹn" in page.locator("main").inner_text()
    assert "application/json" not in (response.headers.get("content-type") or "")
    page.goto(base + f"/ho-so/{doc_id}")
    assert "Tất cả bản sao của tệp này đều hỏng" in page.locator("#hong-het").inner_text()
    assert page.locator("#tai-ve").count() == 0 and page.locator("#ky-so").count() == 0
    assert page.locator("#kiem-tra").count() == 0
    shots(page, "ho-so-hong-het")
    assert fits_phone(page)
