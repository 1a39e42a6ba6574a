"""Login, cookies, CSRF, logout, expiry, throttling (stored in the database), TOTP and password reset."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import func, select, update

from archive.context import Archive
from archive.db import utcnow
from archive.models import Event, LoginFailure, WebSession
from hoso.bootstrap import build_archive
from tests.factories import PASSWORD, make_archive, make_settings, seed_world_with_passwords
from tests.integration.people.helpers import client_for, login


def _events(a: Archive, action: str) -> list[Event]:
    with a.sessions() as s:
        return list(s.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def test_login_sets_a_hardened_cookie_and_csrf_protects_unsafe_methods(sqlite_world: Archive):
    c = client_for(sqlite_world)
    r = c.post("/api/v1/auth/login", json={"username": "hieutruong", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["username"] == "hieutruong"
    assert {"role": "hieu_truong", "organisation": "C01", "name_vi": "Hiệu trưởng"} in body["user"]["roles"]
    cookies = r.headers.get_list("set-cookie")
    session_cookie = next(x for x in cookies if x.startswith("hoso_session="))
    assert (
        "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Secure" not in session_cookie
    )
    csrf_cookie = next(x for x in cookies if x.startswith("hoso_csrf="))
    assert "HttpOnly" not in csrf_cookie and body["csrf_token"] in csrf_cookie
    # only the hash of the secret is stored
    secret = c.cookies["hoso_session"]
    with sqlite_world.sessions() as s:
        stored = s.scalars(select(WebSession.secret_hash)).all()
    assert secret not in stored and len(stored) == 1
    # the cookie authenticates
    me = c.get("/api/v1/me").json()
    assert me["username"] == "hieutruong" and me["permissions"]["lock.manage"] == ["C01"]
    # an unsafe request without the CSRF header is refused and recorded
    r = c.post("/api/v1/me/totp")
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    assert _events(sqlite_world, "access.denied")[-1].detail["reason"] == "csrf"
    r = c.post("/api/v1/me/totp", headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403
    r = c.post("/api/v1/me/totp", headers={"X-CSRF-Token": body["csrf_token"]})
    assert r.status_code == 200 and r.json()["uri"].startswith("otpauth://totp/")
    # logout revokes the server-side session: the old cookie no longer works
    r = c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert r.status_code == 204
    c.cookies.set("hoso_session", secret)
    assert c.get("/api/v1/me").status_code == 401
    assert [e.actor for e in _events(sqlite_world, "auth.logout")] == ["hieutruong"]
    assert [e.actor for e in _events(sqlite_world, "auth.login")] == ["hieutruong"]


@pytest.mark.parametrize(
    "base_url, override, secure",
    [
        ("http://127.0.0.1:8000", None, False),
        ("https://hoso.sgd.example.vn", None, True),
        ("http://127.0.0.1:8000", True, True),
    ],
)
def test_secure_flag_follows_settings(tmp_path: Path, base_url: str, override: bool | None, secure: bool):
    a = make_archive(tmp_path, seed=seed_world_with_passwords, base_url=base_url, cookie_secure=override)
    r = client_for(a, "https://testserver").post(
        "/api/v1/auth/login", json={"username": "gvbm", "password": PASSWORD}
    )
    assert r.status_code == 200
    assert all(("Secure" in x) is secure for x in r.headers.get_list("set-cookie"))
    a.close()


def test_sessions_expire_and_can_be_revoked_by_an_administrator(sqlite_world: Archive):
    c = client_for(sqlite_world)
    body = login(c, "gvbm")
    with sqlite_world.sessions() as s:
        row = s.scalars(select(WebSession)).one()
        ttl = row.expires_at - row.created_at
    assert ttl == timedelta(hours=sqlite_world.settings.session_ttl_hours)
    # the school administrator revokes the teacher's session
    admin = client_for(sqlite_world)
    login(admin, "quantri")
    sessions = admin.get("/api/v1/users/gvbm/sessions").json()
    assert [x["id"] for x in sessions] == [row.id]
    assert admin.delete(f"/api/v1/sessions/{row.id}").status_code == 204
    assert c.get("/api/v1/me").status_code == 401
    # a fresh session, then time passes
    login(c, "gvbm")
    with sqlite_world.sessions() as s, s.begin():
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = c.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"] == "session_expired"
    assert body["csrf_token"]


def _attempt(a: Archive, username: str, password: str, ip: str = "10.0.0.1") -> str:
    from archive import auth
    from archive.errors import AuthError

    try:
        auth.login(a.sessions, a.settings, username=username, password=password, ip=ip)
        return "ok"
    except AuthError as exc:
        return exc.code


def test_throttle_is_shared_by_workers_and_survives_restarts(tmp_path: Path, db_url: str):
    settings = make_settings(tmp_path, database_url=db_url)
    worker1 = build_archive(settings, migrate=True)
    seed_world_with_passwords(worker1)
    worker2 = build_archive(settings)  # a second worker: same database, its own engine
    results = [_attempt(w, "gvbm", "sai-mat-khau") for w in (worker1, worker2) * 2 + (worker1,)]
    assert results == ["invalid_credentials"] * 5
    worker1.close()
    restarted = build_archive(settings)
    # even the right password is refused now, on any worker, and the attempt is recorded
    assert _attempt(restarted, "gvbm", PASSWORD) == "login_throttled"
    assert _attempt(worker2, "gvbm", PASSWORD) == "login_throttled"
    # another account from another address is not affected
    assert _attempt(restarted, "gvcn", PASSWORD, ip="10.0.0.2") == "ok"
    assert len(_events(restarted, "auth.login_failed")) == 5
    assert len(_events(restarted, "auth.login_throttled")) == 2
    # after the window the lock lifts, and success clears the account's counter
    with restarted.sessions() as s, s.begin():
        s.execute(update(LoginFailure).values(at=utcnow() - timedelta(minutes=16)))
    assert _attempt(restarted, "gvbm", PASSWORD) == "ok"
    with restarted.sessions() as s:
        left = s.scalar(select(func.count()).where(LoginFailure.key == "user:gvbm"))
    assert left == 0
    restarted.close()
    worker2.close()


def test_throttle_per_address(tmp_path: Path):
    a = make_archive(tmp_path, seed=seed_world_with_passwords, login_max_failures_per_ip=3)
    assert [_attempt(a, name, "x", ip="192.0.2.9") for name in ("gvbm", "gvcn", "totruong")] == [
        "invalid_credentials"
    ] * 3
    assert _attempt(a, "vanthu", PASSWORD, ip="192.0.2.9") == "login_throttled"
    assert _attempt(a, "vanthu", PASSWORD, ip="192.0.2.10") == "ok"
    a.close()


def test_failed_login_is_recorded_without_the_password(sqlite_world: Archive):
    c = client_for(sqlite_world)
    r = c.post("/api/v1/auth/login", json={"username": "gvbm", "password": "doan-sai-123"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    r = c.post("/api/v1/auth/login", json={"username": "khong-co-ai", "password": "doan-sai-123"})
    assert (
        r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    )  # same answer: no account probing
    failed = _events(sqlite_world, "auth.login_failed")
    assert [e.detail["username"] for e in failed] == ["gvbm", "khong-co-ai"]
    assert all("doan-sai" not in str(e.detail) and e.outcome == "denied" for e in failed)


def test_totp_enrol_confirm_and_require(sqlite_world: Archive):
    c = client_for(sqlite_world)
    login(c, "hieutruong")
    secret = c.post("/api/v1/me/totp").json()["secret"]
    totp = pyotp.TOTP(secret)
    # not required until confirmed
    assert (
        c.post(
            "/api/v1/me/totp/confirm", json={"code": "000000" if totp.now() != "000000" else "111111"}
        ).status_code
        == 422
    )
    code = totp.now()
    assert c.post("/api/v1/me/totp/confirm", json={"code": code}).status_code == 204
    fresh = client_for(sqlite_world)
    r = fresh.post("/api/v1/auth/login", json={"username": "hieutruong", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"] == "totp_required"
    r = fresh.post(
        "/api/v1/auth/login", json={"username": "hieutruong", "password": PASSWORD, "totp": "12345"}
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    # the code used to confirm cannot be replayed; the next step's code works
    r = fresh.post("/api/v1/auth/login", json={"username": "hieutruong", "password": PASSWORD, "totp": code})
    assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    from archive import accounts
    from archive.auth import verify_totp

    with sqlite_world.sessions() as s:
        user = accounts.get_user(s, "hieutruong")
        import time

        later = time.time() + 60  # two steps on: certainly after the confirmed step
        assert verify_totp(user, totp.at(later), at=later) is not None
        assert verify_totp(user, totp.at(time.time() - 30)) is None  # the confirmed step or older: replay


def test_password_reset_by_the_school_administrator(sqlite_world: Archive):
    teacher = client_for(sqlite_world)
    login(teacher, "gvbm")
    admin = client_for(sqlite_world)
    login(admin, "quantri")
    r = admin.post("/api/v1/users/gvbm/password", json={})
    assert r.status_code == 200
    new = r.json()["password"]
    assert new and len(new) >= 12
    assert teacher.get("/api/v1/me").status_code == 401  # the old session ended
    login(client_for(sqlite_world), "gvbm", new)
    # not for people of another school, nor for the system administrator
    assert admin.post("/api/v1/users/admin/password", json={}).status_code == 403
    reset = _events(sqlite_world, "user.password_reset")
    assert [(e.actor, e.detail["username"]) for e in reset] == [("quantri", "gvbm")]
