"""The account page in-process (TestClient): roles and where they apply, password change (refusals in Vietnamese,
success ends every session), TOTP enrolment / confirmation / disabling through the API's own handlers, and ending one
of my sessions but never someone else's."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient

from archive import accounts, auth
from archive.context import Archive
from archive.models import User, WebSession
from hoso.app import create_app
from tests.factories import PASSWORD, add_person
from tests.unit.test_web_pages import hidden_token, login


@pytest.fixture
def app(archive: Archive) -> object:
    add_person(archive, "vanthu", ("van_thu", "T01"), full_name="Người dùng vanthu", password=PASSWORD)
    add_person(archive, "khac", ("gvbm", "T01"), full_name="Người dùng khac", password=PASSWORD)
    return create_app(archive.settings, archive=archive)


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    yield TestClient(app)  # type: ignore[arg-type]


def user(archive: Archive, name: str) -> User:
    with archive.sessions() as s:
        u = accounts.get_user(s, name)
        s.expunge(u)
        return u


def test_roles_and_where_they_apply(client: TestClient):
    login(client, "vanthu")
    assert 'href="/tai-khoan"' in client.get("/ho-so").text
    page = client.get("/tai-khoan").text
    assert "Văn thư — T01" in page
    allowed = re.search(r'<table class="list" id="duoc-phep">(.*?)</table>', page, flags=re.S)
    assert allowed
    assert "Ký số của cơ quan (con dấu)" in allowed.group(1) and "T01" in allowed.group(1)
    assert "Xem nhật ký truy vết" not in allowed.group(1)  # not a văn thư's right


def test_password_change_refusals_and_success(client: TestClient, archive: Archive):
    csrf = login(client, "vanthu")
    new = "mật-khẩu-mới-đủ-dài-2026"

    def change(old: str, new1: str, new2: str, token: str | None = csrf) -> object:
        data = {"old_password": old, "new_password": new1, "new_password_again": new2}
        if token is not None:
            data["csrf_token"] = token
        return client.post("/tai-khoan/mat-khau", data=data, follow_redirects=False)

    r = change(PASSWORD, new, new, token=None)
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    r = change("sai", new, new)
    assert r.status_code == 422 and "Mật khẩu hiện tại không đúng" in r.text and 'id="loi-mat-khau"' in r.text
    r = change(PASSWORD, new, new + "x")
    assert r.status_code == 422 and "không giống nhau" in r.text
    r = change(PASSWORD, "ngan", "ngan")
    assert r.status_code == 422 and "ít nhất" in r.text
    assert accounts.check_password(user(archive, "vanthu").password_hash, PASSWORD)  # nothing changed yet

    r = change(PASSWORD, new, new)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?da_doi_mat_khau=1"
    assert "Đã đổi mật khẩu" in client.get(r.headers["location"]).text
    assert client.get("/tai-khoan", follow_redirects=False).status_code == 303  # this session ended too
    with archive.sessions() as s:
        assert all(row.revoked_at is not None for row in s.query(WebSession))
    token = hidden_token(client.get("/dang-nhap").text)
    bad = client.post("/dang-nhap", data={"username": "vanthu", "password": PASSWORD, "csrf_token": token})
    assert bad.status_code == 401
    login(client, "vanthu", new)


def test_totp_enrol_confirm_and_disable(client: TestClient, archive: Archive):
    csrf = login(client, "vanthu")
    assert 'id="dang-ky-totp"' in client.get("/tai-khoan").text
    assert client.post("/tai-khoan/totp", data={}).status_code == 403  # CSRF
    assert user(archive, "vanthu").totp_secret is None
    r = client.post("/tai-khoan/totp", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/tai-khoan").text
    stored = user(archive, "vanthu").totp_secret
    assert stored and stored.startswith("fernet:")  # encrypted at rest; the page shows the decrypted secret
    secret = auth.totp_secret(user(archive, "vanthu"), settings=archive.settings)
    assert secret
    shown = re.search(r'id="khoa-bi-mat">([A-Z2-7 ]+)<', page)
    assert shown and shown.group(1) == " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert f"otpauth://totp/hoso:vanthu?secret={secret}" in page
    assert 'id="ma-qr"' not in page  # no pure-Python QR library is installed here: the text forms only

    r = client.post("/tai-khoan/totp/xac-nhan", data={"csrf_token": csrf, "code": "000000"})
    assert r.status_code == 422 and "Mã xác thực không đúng" in r.text
    assert not user(archive, "vanthu").totp_enabled
    r = client.post("/tai-khoan/totp/xac-nhan", data={"csrf_token": csrf, "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and "Đã bật xác thực hai lớp" in r.text
    assert user(archive, "vanthu").totp_enabled
    # enrolling again would drop the factor without a code: refused
    r = client.post("/tai-khoan/totp", data={"csrf_token": csrf})
    assert r.status_code == 422 and "đang bật" in r.text and user(archive, "vanthu").totp_enabled

    r = client.post("/tai-khoan/totp/tat", data={"csrf_token": csrf, "code": "123456"})
    assert r.status_code == 422 and user(archive, "vanthu").totp_enabled
    later = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: a used code is never accepted twice
    r = client.post("/tai-khoan/totp/tat", data={"csrf_token": csrf, "code": later})
    assert r.status_code == 200 and "Đã tắt xác thực hai lớp" in r.text
    assert not user(archive, "vanthu").totp_enabled


def test_end_one_of_my_sessions_never_someone_elses(app: object, archive: Archive):
    phone, laptop, other = TestClient(app), TestClient(app), TestClient(app)  # type: ignore[arg-type]
    csrf = login(laptop, "vanthu")
    login(phone, "vanthu")
    login(other, "khac")
    with archive.sessions() as s:
        ids = {u: [r.id for r in s.query(WebSession).filter(WebSession.user_id == user(archive, u).id)]
               for u in ("vanthu", "khac")}  # fmt: skip
    page = laptop.get("/tai-khoan").text
    assert page.count("Đăng xuất phiên này") == 2 and page.count("phiên này</span>") == 1
    phone_id = ids["vanthu"][1]
    r = laptop.post(
        f"/tai-khoan/phien/{phone_id}/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert phone.get("/ho-so", follow_redirects=False).status_code == 303  # the phone is logged out
    assert laptop.get("/ho-so", follow_redirects=False).status_code == 200
    r = laptop.post(f"/tai-khoan/phien/{ids['khac'][0]}/dang-xuat", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert other.get("/ho-so", follow_redirects=False).status_code == 200  # untouched
    r = laptop.post(
        f"/tai-khoan/phien/{ids['vanthu'][0]}/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap")
    assert laptop.get("/ho-so", follow_redirects=False).status_code == 303


def test_password_change_with_totp_on_asks_for_a_current_code(client: TestClient, archive: Archive):
    csrf = login(client, "vanthu")
    client.post("/tai-khoan/totp", data={"csrf_token": csrf})
    secret = auth.totp_secret(user(archive, "vanthu"), settings=archive.settings)
    assert secret
    totp = pyotp.TOTP(secret)
    client.post("/tai-khoan/totp/xac-nhan", data={"csrf_token": csrf, "code": totp.now()})
    assert user(archive, "vanthu").totp_enabled
    page = client.get("/tai-khoan").text
    assert 'id="password-totp"' in page  # the form asks for the code now
    new = "mật-khẩu-mới-đủ-dài-2026"
    data = {"csrf_token": csrf, "old_password": PASSWORD, "new_password": new, "new_password_again": new}
    r = client.post("/tai-khoan/mat-khau", data=data)
    assert r.status_code == 422 and "Cần mã xác thực hai lớp" in r.text and 'id="loi-mat-khau"' in r.text
    assert accounts.check_password(user(archive, "vanthu").password_hash, PASSWORD)
    later = totp.at(time.time() + 30)  # the next step: the confirming code is spent
    r = client.post("/tai-khoan/mat-khau", data=data | {"totp": later}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?da_doi_mat_khau=1"
    assert accounts.check_password(user(archive, "vanthu").password_hash, new)
