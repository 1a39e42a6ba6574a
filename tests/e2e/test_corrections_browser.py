"""Issue 12 item 1 in a real Chromium: a teacher asks to correct a locked class assessment book with two evidence files,
the principal approves on "Đề nghị chỉnh sửa", the teacher uploads the one corrected version, hoso files the biên bản
chỉnh sửa dữ liệu, which the teacher, the school administrator and the principal sign in turn from its page with their
own dev PKI keys; the record is locked again and the principal's year overview marks the correction. Every page at
desktop and phone width, screenshots in /tmp/shots/corrections."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signing.devpki import PEOPLE
from tests.e2e.webkit import chromium_path, login, logout, sign_from_page
from tests.e2e.year_pages import fits_phone, shots
from tests.factories import add_server_user, boot, make_pdf
from tests.processes import LiveServer, stop_server

PASSWORD = "Mật-khẩu-Thử-2025"
YEAR = "2024-2025"
TYPE = "so-theo-doi-danh-gia-lop"
# username → (dev PKI label, role); the administrator borrows a second teacher's test key (the dev PKI has no admin)
SIGNERS = {
    "gv.van": ("teacher", "gvbm"),
    "qt.toan": ("teacher2", "school_admin"),
    "ht.mau": ("principal", "hieu_truong"),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    chromium_path()
    before = os.environ.get("HOSO_SHOTS")
    os.environ["HOSO_SHOTS"] = "/tmp/shots/corrections"  # year_pages.shots saves there
    server = boot(tmp_path_factory.mktemp("corrections"))
    pki = Path(server.env["HOSO_DATA_DIR"]) / "dev-pki"
    add_server_user(server, "vt.lan", PASSWORD, "Lê Thị Lan", ("van_thu", "T01"))
    for username, (label, role) in SIGNERS.items():
        add_server_user(server, username, PASSWORD, PEOPLE[label][0], (role, "T01"))
        server.cli("user", "cert", "add", username, str(pki / f"{label}.cert.pem"))
    yield server
    stop_server(server)
    if before is None:
        os.environ.pop("HOSO_SHOTS", None)
    else:
        os.environ["HOSO_SHOTS"] = before


def _sign(live: LiveServer, page: Any, doc_url: str, username: str, tmp: Path) -> None:
    sign_from_page(live, page, doc_url, username, PASSWORD, SIGNERS[username][0], tmp)


@pytest.mark.timeout(900)
def test_correction_of_a_locked_record_end_to_end(live: LiveServer, page: Any, tmp_path: Path):
    base = live.base_url
    with live.client(live.token("vt.lan")) as c:
        pdf = make_pdf(tmp_path / "so-10a1.pdf", text="Sổ theo dõi đánh giá lớp 10A1 — An: 5")
        form = {
            "school": "T01",
            "type": TYPE,
            "year": YEAR,
            "title": "Sổ theo dõi đánh giá lớp 10A1",
            "class_name": "10A1",
        }
        r = c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())})
        assert r.status_code == 201, r.text
        doc_id = r.json()["id"]
    with live.client(live.token("ht.mau")) as c:
        r = c.post(
            "/api/v1/locks", json={"school": "T01", "type": TYPE, "year": YEAR, "reason": "hết năm học"}
        )
        assert r.status_code == 201, r.text
    doc_url = f"{base}/ho-so/{doc_id}"

    # the teacher: the locked record offers a correction request, not a direct change
    login(page, base, "gv.van", PASSWORD)
    page.goto(doc_url)
    assert page.locator("#da-khoa").count() == 1 and page.locator("#sua").count() == 0
    page.locator("#de-nghi-chinh-sua").click()
    page.wait_for_url(doc_url + "/de-nghi-chinh-sua")
    shots(page, "01-de-nghi-form")
    assert fits_phone(page)
    page.get_by_label("Nội dung sai").fill("Điểm kiểm tra 15 phút môn Ngữ văn của em Nguyễn Văn An ghi 5")
    page.get_by_label("Nội dung đúng").fill("Điểm đúng là 8")
    page.get_by_label("Lý do").fill("Nhập nhầm từ sổ điểm cá nhân")
    photo = tmp_path / "so-diem-ca-nhan.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    scan = make_pdf(tmp_path / "bai-kiem-tra.pdf", text="Bài kiểm tra 15 phút — An: 8")
    page.set_input_files("#evidence", [str(photo), str(scan)])
    page.locator("#gui-de-nghi").click()
    page.wait_for_url("**/chinh-sua/*?moi=1")
    correction_url = page.url.split("?")[0]
    assert "Chờ hiệu trưởng duyệt" in page.locator("#trang-thai").inner_text()
    assert page.locator("#minh-chung li").count() == 2
    assert page.locator("#tai-phien-ban-sua").count() == 0  # nothing to upload before the approval
    shots(page, "02-de-nghi-da-gui")
    logout(page, base)

    # the principal: the list, the request, the approval
    login(page, base, "ht.mau", PASSWORD)
    page.goto(base + "/chinh-sua")
    assert "Sổ theo dõi đánh giá lớp 10A1" in page.locator("#dang-xu-ly").inner_text()
    shots(page, "03-danh-sach-de-nghi")
    assert fits_phone(page)
    page.locator("#dang-xu-ly a").first.click()
    page.get_by_label("Ý kiến (bắt buộc khi từ chối)").fill("Đồng ý, minh chứng khớp")
    page.locator("#duyet").click()
    page.wait_for_url("**?xong=duyet")
    assert "Đã duyệt" in page.locator("#trang-thai").inner_text()
    shots(page, "04-da-duyet")
    logout(page, base)

    # the teacher uploads the one corrected version: the biên bản is filed and the record is locked again
    login(page, base, "gv.van", PASSWORD)
    page.goto(correction_url)
    fixed = make_pdf(tmp_path / "so-10a1-sua.pdf", text="Sổ theo dõi đánh giá lớp 10A1 — An: 8")
    page.set_input_files("#file", str(fixed))
    page.locator("#tai-len-ban-sua").click()
    page.wait_for_url("**?xong=da-sua", timeout=120_000)
    assert "Đã sửa — đã khóa lại" in page.locator("#trang-thai").inner_text()
    assert "Chờ người đề nghị ký" in page.locator("#bien-ban").inner_text()
    shots(page, "05-da-sua-bien-ban")
    assert fits_phone(page)
    record_url = base + str(page.locator("#xem-bien-ban").get_attribute("href"))
    page.goto(doc_url)
    assert "Đã sửa — đã khóa lại" in page.locator("#chinh-sua").inner_text()
    assert page.locator("#de-nghi-chinh-sua").count() == 1  # locked again: a further change is a new request
    shots(page, "06-ho-so-da-sua")
    logout(page, base)

    # the biên bản signed in the order of its chain: requester, administrator, principal
    for username in ("gv.van", "qt.toan", "ht.mau"):
        _sign(live, page, record_url, username, tmp_path)
    login(page, base, "ht.mau", PASSWORD)
    page.goto(record_url)
    assert "Hoàn tất" in page.locator("#trang-thai-ky").inner_text()
    assert (
        page.locator("#la-bien-ban").count() == 1 and page.locator("#sua").count() == 0
    )  # not to be changed
    shots(page, "07-bien-ban-da-ky")
    page.goto(correction_url)
    assert "Hoàn tất" in page.locator("#bien-ban").inner_text()
    # the overview marks the corrected record
    page.goto(base + f"/tong-quan?school=T01&year={YEAR}")
    assert "1 đã chỉnh sửa" in page.locator(f"#luoi td[data-type={TYPE}]").first.inner_text()
    shots(page, "08-tong-quan")
    logout(page, base)

    # locked again: neither a new upload nor the consumed approval gets through
    with live.client(live.token("gv.van")) as c:
        again = make_pdf(tmp_path / "lan-nua.pdf", text="lần nữa")
        r = c.post(
            f"/api/v1/corrections/{correction_url.rsplit('/', 1)[1]}/version",
            files={"file": (again.name, again.read_bytes())},
        )
        assert r.status_code == 409 and r.json()["error"] == "correction_not_approved", r.text
    with live.client(live.token("vt.lan")) as c:
        r = c.post("/api/v1/documents", data={"school": "T01", "type": TYPE, "year": YEAR, "title": "Mới"},
                   files={"file": (again.name, again.read_bytes())})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"] == "locked", r.text
