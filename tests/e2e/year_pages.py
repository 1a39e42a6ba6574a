"""Shared by the browser tests of issue 12 (the school's year on the web): a live server with a school's people and
records, and screenshots taken at desktop and phone width."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.factories import add_server_user, make_pdf
from tests.processes import LiveServer

PASSWORD = "Mật-khẩu-đủ-dài-2025"
# username → (full name, role at T01 or the Sở)
PEOPLE = {
    "vanthu": ("Nguyễn Thị Thư", ("van_thu", "T01")),
    "hieutruong": ("Phạm Văn Hiệu", ("hieu_truong", "T01")),
    "quantri": ("Lê Quản Trị", ("school_admin", "T01")),
    "gvbm": ("Nguyễn Thị Ánh", ("gvbm", "T01")),
    "thanhtra": ("Trần Văn Tra", ("inspector_so", "79")),
}
# title, type, class
RECORDS = [
    ("Sổ theo dõi và đánh giá học sinh lớp 10A1", "so-theo-doi-danh-gia-lop", "10A1"),
    ("Học bạ lớp 10A1", "hoc-ba", "10A1"),
    ("Học bạ lớp 10A2", "hoc-ba", "10A2"),
    ("Sổ đăng bộ khóa 2022-2025", "so-dang-bo", None),
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def seed(server: LiveServer, tmp: Path) -> dict[str, str]:
    """The people of PEOPLE and the records of RECORDS (stored by the office); returns title → document id."""
    for username, (full_name, role) in PEOPLE.items():
        add_server_user(server, username, PASSWORD, full_name, role)
    ids = {}
    with server.client(server.token("vanthu")) as c:
        for i, (title, type_code, class_name) in enumerate(RECORDS):
            pdf = make_pdf(tmp / f"r{i}.pdf", extra=title.encode())
            form = {"school": "T01", "type": type_code, "year": "2024-2025", "title": title}
            if class_name:
                form["class_name"] = class_name
            r = c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())})
            assert r.status_code == 201, r.text
            ids[title] = r.json()["id"]
    return ids


def shots(page: Any, name: str) -> list[Path]:
    """The page at desktop and at phone width, saved under $HOSO_SHOTS (default /tmp/shots/w12) to be looked at."""
    folder = Path(os.environ.get("HOSO_SHOTS", "/tmp/shots/w12"))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        out.append(path)
    page.set_viewport_size(DESKTOP)
    # nothing wider than the phone's screen: a page that scrolls sideways hides its buttons
    return out


def fits_phone(page: Any) -> bool:
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    return bool(width <= PHONE["width"])
