"""The web pages in-process (TestClient): anonymous visitors go to the login page, forms refuse a missing or wrong
CSRF token with a Vietnamese 403 and change nothing, refusals keep what was typed, accounts without roles see an
explanation instead of an error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive import accounts
from archive.context import Archive
from archive.models import Document, Event, Version, WebSession
from hoso.app import create_app
from hoso.web import PAGE_ROUTERS
from hoso.web.common import WebRoute, safe_next
from tests.factories import PASSWORD, add_person, make_pdf

FAKE_ID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    add_person(archive, "vanthu", ("van_thu", "T01"), full_name="Người dùng vanthu", password=PASSWORD)
    add_person(
        archive, "thanhtra", ("inspector_so", "79"), full_name="Người dùng thanhtra", password=PASSWORD
    )
    add_person(
        archive, "moi", full_name="Người dùng moi", password=PASSWORD
    )  # an account nobody has given a role yet
    yield TestClient(create_app(archive.settings, archive=archive))


def hidden_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def login(c: TestClient, username: str, password: str = PASSWORD) -> str:
    token = hidden_token(c.get("/dang-nhap").text)
    r = c.post(
        "/dang-nhap",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return hidden_token(c.get("/ho-so").text)  # the session's token, as every signed-in page carries it


def upload(c: TestClient, csrf: str | None, pdf: Path, **fields: str) -> object:
    data = {"school": "T01", "type": "so-dang-bo", "year": "2024-2025", "title": "Sổ đăng bộ"} | fields
    if csrf is not None:
        data["csrf_token"] = csrf
    return c.post(
        "/tai-len",
        data=data,
        files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
        follow_redirects=False,
    )


def count(archive: Archive, model: type) -> int:
    with archive.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def web_routes() -> list[tuple[str, str]]:
    out = []
    for pages in PAGE_ROUTERS:
        for route in pages.routes:
            assert isinstance(route, WebRoute)  # every page renders its errors as HTML
            for method in sorted(route.methods):
                out.append((method, route.path.replace("{doc_id}", FAKE_ID)))
    return out


PUBLIC = {("GET", "/"), ("GET", "/dang-nhap"), ("POST", "/dang-nhap")}


def test_every_page_but_login_sends_anonymous_visitors_to_login(client: TestClient):
    routes = web_routes()
    assert {("GET", "/ho-so"), ("GET", "/tai-len"), ("POST", "/ho-so/" + FAKE_ID + "/ky-so")} <= set(routes)
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        for cookies in ({}, {"hoso_session": "forged"}):
            client.cookies.clear()
            client.cookies.update(cookies)
            r = client.request(method, path, follow_redirects=False)
            assert r.status_code == 303, (method, path, cookies, r.status_code)
            location = r.headers["location"]
            assert location.startswith("/dang-nhap?next=")
            assert unquote(location.split("next=", 1)[1]) == path
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).headers["location"] == "/dang-nhap"
    assert client.get("/static/hoso.css").status_code == 200


def test_web_pages_stay_out_of_the_api_schema(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    probes = {"/livez", "/readyz", "/metrics"}  # hoso/api/probes.py: for machines, outside /api/v1
    assert all(p.startswith("/api/v1") or p.startswith("/dev-pki") or p in probes for p in paths)


def test_login_refusals_are_vietnamese_and_keep_the_username(client: TestClient):
    token = hidden_token(client.get("/dang-nhap").text)
    r = client.post("/dang-nhap", data={"username": "vanthu", "password": "sai", "csrf_token": token})
    assert r.status_code == 401
    assert "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng" in r.text
    assert 'value="vanthu"' in r.text
    assert "hoso_session" not in r.cookies
    # without the login form's own token (a cross-site form) nothing is even checked
    r = client.post("/dang-nhap", data={"username": "vanthu", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    assert "hoso_session" not in client.cookies


def test_login_throttling_message(client: TestClient, archive: Archive):
    token = hidden_token(client.get("/dang-nhap").text)
    for _ in range(archive.settings.login_max_failures):
        client.post("/dang-nhap", data={"username": "vanthu", "password": "sai", "csrf_token": token})
    r = client.post("/dang-nhap", data={"username": "vanthu", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in r.text


def test_forms_refuse_missing_or_wrong_csrf_token_and_change_nothing(
    client: TestClient, archive: Archive, tmp_path: Path
):
    csrf = login(client, "vanthu")
    pdf = make_pdf(tmp_path / "Sổ đăng bộ khóa 2022.pdf")
    for bad in (None, "", "0" * 64):
        r = upload(client, bad, pdf)
        assert r.status_code == 403
        assert "mã chống giả mạo" in r.text and 'lang="vi"' in r.text
    assert count(archive, Document) == 0

    r = upload(client, csrf, pdf)
    assert r.status_code == 303
    doc_path = r.headers["location"].split("?")[0]
    versions = count(archive, Version)
    r = client.post(doc_path + "/ky-so", data={"csrf_token": "sai"}, follow_redirects=False)
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    assert count(archive, Version) == versions  # nothing was signed

    # logout needs the token too: a forged logout does not end the session
    assert client.post("/dang-xuat", data={}, follow_redirects=False).status_code == 403
    assert client.get("/ho-so", follow_redirects=False).status_code == 200
    with archive.sessions() as s:
        denials = s.scalars(select(Event).where(Event.action == "access.denied")).all()
        assert sum(1 for e in denials if (e.detail or {}).get("reason") == "csrf") >= 4

    r = client.post("/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap")
    with archive.sessions() as s:
        assert all(row.revoked_at is not None for row in s.scalars(select(WebSession)))
    assert client.get("/ho-so", follow_redirects=False).status_code == 303


def test_refused_upload_keeps_the_values_and_explains(client: TestClient, archive: Archive, tmp_path: Path):
    csrf = login(client, "vanthu")
    fake = tmp_path / "Học bạ lớp 12A.pdf"
    fake.write_bytes(b"%PDF-1.7\nnot really a pdf")
    r = upload(client, csrf, fake, title="Học bạ 12A", class_name="12A", teacher="Cô Lê Thị Hoa")
    assert r.status_code == 422
    assert "Tệp chưa được lưu" in r.text and "không phải PDF hợp lệ" in r.text
    assert 'value="Học bạ 12A"' in r.text and 'value="12A"' in r.text and 'value="Cô Lê Thị Hoa"' in r.text
    assert count(archive, Document) == 0


def test_user_without_roles_sees_an_explanation(client: TestClient):
    login(client, "moi")
    r = client.get("/ho-so")
    assert r.status_code == 200
    assert "chưa được phân quyền" in r.text
    assert 'href="/tai-len"' not in r.text
    r = client.get("/tai-len")
    assert r.status_code == 403 and "không có quyền tải lên" in r.text


def test_inspector_cannot_upload_and_missing_documents_are_404(client: TestClient, tmp_path: Path):
    csrf = login(client, "thanhtra")
    assert 'href="/tai-len"' not in client.get("/ho-so").text
    assert client.get("/tai-len").status_code == 403
    r = upload(client, csrf, make_pdf(tmp_path / "a.pdf"))
    assert r.status_code == 403 and "không có quyền tải lên" in r.text
    r = client.get(f"/ho-so/{FAKE_ID}")
    assert r.status_code == 404 and "Không tìm thấy" in r.text


def test_safe_next_keeps_only_local_paths():
    assert safe_next("/ho-so/abc?x=1") == "/ho-so/abc?x=1"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil", "", None):
        assert safe_next(bad) == "/ho-so"


def test_list_pages_and_shows_only_readable_schools(client: TestClient, archive: Archive, tmp_path: Path):
    from archive.ingest import ingest_file

    for i in range(23):
        pdf = make_pdf(tmp_path / f"Kế hoạch {i}.pdf", extra=bytes([i]) * 8)
        ingest_file(archive, pdf, filename=pdf.name, school="T01", type_code="so-dang-bo", year="2024-2025",
                    title=f"Hồ sơ số {i:02d}")  # fmt: skip
    other = make_pdf(tmp_path / "Trường khác.pdf", extra=b"C01")
    ingest_file(archive, other, filename=other.name, school="C01", type_code="so-dang-bo", year="2023-2024")

    login(client, "vanthu")
    first = client.get("/ho-so").text
    assert "23 hồ sơ" in first and first.count('href="/ho-so/') == 20
    assert "Trang 1 / 2" in first and "Trường khác" not in first
    assert "2023-2024" not in first  # not even the other school's years leak into the filters
    second = client.get("/ho-so", params={"page": 2}).text
    assert second.count('href="/ho-so/') == 3 and "Trang 2 / 2" in second
    found = client.get("/ho-so", params={"q": "số 07"}).text
    assert "1 hồ sơ" in found and "Hồ sơ số 07" in found
    assert client.get("/ho-so", params={"school": "C01"}).text.count('href="/ho-so/') == 0
    assert client.get("/ho-so", params={"page": "abc"}).status_code == 422


def test_login_asks_for_the_totp_code_when_enabled(client: TestClient, archive: Archive):
    import time

    import pyotp

    from archive import auth

    with archive.sessions() as s, s.begin():
        user = accounts.get_user(s, "vanthu")
        secret, _ = auth.enrol_totp(s, user)
        auth.confirm_totp(s, user, pyotp.TOTP(secret).at(time.time() - 30))
    token = hidden_token(client.get("/dang-nhap").text)
    form = {"username": "vanthu", "password": PASSWORD, "csrf_token": token}
    r = client.post("/dang-nhap", data=form)
    assert r.status_code == 401 and "xác thực hai lớp" in r.text and 'name="totp"' in r.text
    assert "hoso_session" not in client.cookies
    r = client.post("/dang-nhap", data=form | {"totp": "000000"})
    assert r.status_code == 401 and "không đúng" in r.text
    r = client.post("/dang-nhap", data=form | {"totp": pyotp.TOTP(secret).now()}, follow_redirects=False)
    assert r.status_code == 303 and client.cookies.get("hoso_session")


def test_login_page_sends_a_signed_in_person_on(client: TestClient):
    login(client, "vanthu")
    r = client.get("/dang-nhap", params={"next": "/tai-len"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tai-len"
    r = client.get("/dang-nhap", params={"next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/ho-so"
