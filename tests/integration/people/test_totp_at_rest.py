"""TOTP secrets encrypted at rest (archive/secrets_box.py): the users row never holds the base32 secret, the key lives
outside the database (HOSO_SECRET_KEY or <data_dir>/secret.key, 0600, created once, never overwritten, never
generated in production), legacy plaintext secrets still work and get encrypted, and a wrong key is a clear 503."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from archive import auth, secrets_box
from archive.context import Archive
from archive.models import LoginFailure, User
from archive.settings import Settings
from hoso.bootstrap import build_archive
from tests.factories import PASSWORD, make_archive, seed_world_with_passwords
from tests.integration.people.helpers import client_for, login
from tests.unit.test_web_pages import hidden_token


def _raw_secret(a: Archive, username: str) -> str | None:
    """The column as the database holds it (what a dump would show), bypassing the ORM."""
    with a.engine.connect() as conn:
        value = conn.execute(
            text("SELECT totp_secret FROM users WHERE username = :u"), {"u": username}
        ).scalar_one()
    return value if value is None else str(value)


def _enrol_and_confirm(a: Archive, username: str) -> pyotp.TOTP:
    c = client_for(a)
    login(c, username)
    r = c.post("/api/v1/me/totp")
    assert r.status_code == 200, r.text
    totp = pyotp.TOTP(r.json()["secret"])
    # the previous step's code, so that the current step's code is still free for the login that follows
    r = c.post("/api/v1/me/totp/confirm", json={"code": totp.at(time.time() - 30)})
    assert r.status_code == 204, r.text
    return totp


def _login_with(a: Archive, username: str, code: str | None) -> tuple[int, dict[str, str]]:
    body = {"username": username, "password": PASSWORD} | ({"totp": code} if code else {})
    r = client_for(a).post("/api/v1/auth/login", json=body)
    return r.status_code, r.json()


@pytest.fixture
def world_pw(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    """SQLite and PostgreSQL, with passwords, no HOSO_SECRET_KEY: the development key file is used."""
    a = make_archive(tmp_path, seed=seed_world_with_passwords, database_url=db_url, cookie_secure=False)
    yield a
    a.close()


def test_the_row_never_holds_the_secret_and_login_still_works(world_pw: Archive):
    totp = _enrol_and_confirm(world_pw, "hieutruong")
    raw = _raw_secret(world_pw, "hieutruong")
    assert raw is not None and raw.startswith("fernet:")
    assert totp.secret not in raw and totp.secret.lower() not in raw.lower()
    # the whole token was stored (PostgreSQL would have refused more than the old 64 characters)
    key = secrets_box.key_file(world_pw.settings).read_bytes().strip()
    assert Fernet(key).decrypt(raw.removeprefix("fernet:").encode()).decode() == totp.secret

    assert _login_with(world_pw, "hieutruong", None)[1]["error"] == "totp_required"
    code = totp.now()
    status, body = _login_with(world_pw, "hieutruong", code)
    assert status == 200, body
    # replay protection is unchanged: the same code (step) is refused the second time
    status, body = _login_with(world_pw, "hieutruong", code)
    assert status == 401 and body["error"] == "invalid_credentials"


def test_a_legacy_plaintext_secret_verifies_and_is_encrypted_on_use(world_pw: Archive):
    secret = pyotp.random_base32()
    with world_pw.engine.begin() as conn:  # as a catalog written before encryption would hold it
        conn.execute(
            text("UPDATE users SET totp_secret = :s, totp_enabled = :t WHERE username = 'gvbm'"),
            {"s": secret, "t": True},
        )
    assert _raw_secret(world_pw, "gvbm") == secret
    status, body = _login_with(world_pw, "gvbm", pyotp.TOTP(secret).now())
    assert status == 200, body
    raw = _raw_secret(world_pw, "gvbm")
    assert raw is not None and raw.startswith("fernet:") and secret not in raw
    with world_pw.sessions() as s:
        user = s.scalar(select(User).where(User.username == "gvbm"))
        assert user is not None and auth.totp_secret(user) == secret
    # and it keeps working, encrypted (the next step's code; the one just used is a replay)
    later = time.time() + 30
    with world_pw.sessions() as s:
        user = s.scalar(select(User).where(User.username == "gvbm"))
        assert user is not None and auth.verify_totp(user, pyotp.TOTP(secret).at(later), at=later) is not None


def test_a_wrong_key_is_a_clear_error_not_a_500(tmp_path: Path):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = make_archive(tmp_path, seed=seed_world_with_passwords, secret_key=key_a, cookie_secure=False)
    totp = _enrol_and_confirm(first, "vanthu")
    assert not secrets_box.key_file(first.settings).exists()  # HOSO_SECRET_KEY set: no key file is made
    first.close()

    # the same catalog, restarted with another key (a lost or mistyped HOSO_SECRET_KEY)
    other = build_archive(
        first.settings.model_copy(update={"secret_key": Settings(secret_key=key_b).secret_key})
    )
    status, body = _login_with(other, "vanthu", totp.now())
    assert status == 503 and body["error"] == "secret_key_mismatch"
    assert "khóa bí mật" in body["message_vi"] and "secret key" in body["message_en"]
    # a server configuration problem is not held against the person: nothing counts towards their lockout
    with other.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 0
    # the web login page says the same, as a page
    c = client_for(other)
    token = hidden_token(c.get("/dang-nhap").text)
    form = {"username": "vanthu", "password": PASSWORD, "totp": totp.now(), "csrf_token": token}
    r = c.post("/dang-nhap", data=form)
    assert r.status_code == 503 and "khóa bí mật" in r.text
    other.close()

    # an invalid HOSO_SECRET_KEY (not a Fernet key) is refused just as clearly
    broken = build_archive(
        first.settings.model_copy(update={"secret_key": Settings(secret_key="abc").secret_key})
    )
    status, body = _login_with(broken, "vanthu", totp.now())
    assert (
        status == 503
        and body["error"] == "secret_key_unavailable"
        and "HOSO_SECRET_KEY" in body["message_en"]
    )
    broken.close()


def test_the_key_file_is_created_0600_once_and_reused(sqlite_world: Archive):
    path = secrets_box.key_file(sqlite_world.settings)
    assert not path.exists()  # nothing is generated before a secret needs it
    totp = _enrol_and_confirm(sqlite_world, "gvbm")
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    Fernet(key.strip())  # a valid Fernet key
    _enrol_and_confirm(sqlite_world, "gvcn")
    assert path.read_bytes() == key  # reused, not regenerated
    # even the creation routine itself never replaces an existing key (the loser of a race keeps the winner's)
    secrets_box._create_key_file(path)
    assert path.read_bytes() == key
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".secret.key")] == []  # no leftovers
    assert _login_with(sqlite_world, "gvbm", totp.now())[0] == 200


def test_production_never_generates_a_key(sqlite_world: Archive, monkeypatch: pytest.MonkeyPatch):
    prod = sqlite_world.settings.model_copy(update={"environment": "production"})
    path = secrets_box.key_file(prod)
    with pytest.raises(secrets_box.SecretKeyError) as ei:
        auth.login(sqlite_world.sessions, prod, username="gvbm", password=PASSWORD)
    assert (
        ei.value.status == 503
        and "HOSO_SECRET_KEY" in ei.value.message_vi
        and str(path) in ei.value.message_en
    )
    assert not path.exists()
    # an operator-provided key file is used …
    path.write_bytes(Fernet.generate_key())
    os.chmod(path, 0o600)
    assert auth.login(sqlite_world.sessions, prod, username="gvbm", password=PASSWORD).user.username == "gvbm"
    path.unlink()
    # … and so is HOSO_SECRET_KEY, read from the environment
    monkeypatch.setenv("HOSO_SECRET_KEY", Fernet.generate_key().decode())
    with_env = prod.model_copy(update={"secret_key": Settings().secret_key})
    assert (
        auth.login(sqlite_world.sessions, with_env, username="gvbm", password=PASSWORD).user.username
        == "gvbm"
    )
    assert not path.exists()
