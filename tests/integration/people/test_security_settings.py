"""Issue 8, findings 6, 10, 15 and 20a: one's own security settings change only from a web session and, with TOTP on,
with a fresh code; re-enrolment keeps the old secret until the new one is confirmed; minting a token asks for the
password; a password reset or a disabled account leaves no token alive; every login costs one argon2 verification;
a token never lives for ever."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive import accounts
from archive.context import Archive
from archive.errors import InvalidInput
from archive.models import ApiToken, Event
from tests.factories import (
    PASSWORD,
    archive_env,
    bearer,
    folder_replicas,
    make_archive,
    password_hash,
    seed_world_with_passwords,
)
from tests.integration.people.helpers import CountingHasher, client_for, login
from tests.processes import run_cli


def _user(a: Archive, username: str) -> Any:
    with a.sessions() as s:
        u = accounts.get_user(s, username)
        s.expunge(u)
        return u


def _session(a: Archive, username: str, **extra: Any) -> TestClient:
    c = client_for(a)
    login(c, username, **extra)
    return c


def _turn_totp_on(c: TestClient) -> pyotp.TOTP:
    secret = c.post("/api/v1/me/totp").json()["secret"]
    totp = pyotp.TOTP(secret)
    assert c.post("/api/v1/me/totp/confirm", json={"code": totp.now()}).status_code == 204
    return totp


def _code(totp: pyotp.TOTP, steps_ahead: int) -> str:
    """A code of a later step (accepted within the ±1 step of drift, never replaying an earlier one)."""
    return totp.at(time.time() + 30 * steps_ahead)


@pytest.mark.parametrize("scopes", ["document.read", "*"])
def test_api_tokens_cannot_change_security_settings(sqlite_world: Archive, scopes: str):
    a = sqlite_world
    web = _session(a, "hieutruong")
    totp = _turn_totp_on(web)
    c, h = client_for(a), bearer(a, "hieutruong", scopes=scopes)
    calls = [
        ("/api/v1/me/totp", None),  # re-enrolment used to switch TOTP off without any code
        ("/api/v1/me/totp/confirm", {"code": _code(totp, 1)}),
        ("/api/v1/me/totp/disable", {"code": _code(totp, 1)}),
        ("/api/v1/me/password", {"old_password": PASSWORD, "new_password": "mot-mat-khau-moi-dai"}),
        ("/api/v1/tokens", {"password": PASSWORD}),
    ]
    for path, body in calls:
        r = c.post(path, json=body, headers=h)
        assert r.status_code == 403 and r.json()["error"] == "session_required", (path, r.text)
    assert _user(a, "hieutruong").totp_enabled
    assert accounts.check_password(_user(a, "hieutruong").password_hash, PASSWORD)
    with a.sessions() as s:
        reasons = [
            e.detail.get("reason") for e in s.scalars(select(Event).where(Event.action == "access.denied"))
        ]
    assert reasons.count("session_required") == len(calls)


def test_reenrolment_needs_a_fresh_code_and_keeps_the_old_secret_until_confirmed(sqlite_world: Archive):
    a = sqlite_world
    web = _session(a, "hieutruong")
    old = _turn_totp_on(web)
    r = web.post("/api/v1/me/totp")
    assert r.status_code == 422 and r.json()["error"] == "totp_required"
    r = web.post("/api/v1/me/totp", json={"code": "000000" if old.now() != "000000" else "111111"})
    assert r.status_code == 422 and r.json()["error"] == "bad_totp"
    r = web.post("/api/v1/me/totp", json={"code": _code(old, 1)})
    assert r.status_code == 200
    new = pyotp.TOTP(r.json()["secret"])
    assert _user(a, "hieutruong").totp_enabled  # still on, with the old secret
    # the code just spent cannot be used again
    assert web.post("/api/v1/me/totp", json={"code": _code(old, 1)}).json()["error"] == "bad_totp"
    # until the new secret is confirmed, logging in takes the old secret's codes, not the new one's
    r = client_for(a).post(
        "/api/v1/auth/login", json={"username": "hieutruong", "password": PASSWORD, "totp": new.now()}
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    assert web.post("/api/v1/me/totp/confirm", json={"code": new.now()}).status_code == 204
    assert _user(a, "hieutruong").totp_enabled
    # now the new secret is the one
    later = time.time() + 60  # after every step used so far
    with a.sessions() as s:
        from archive.auth import verify_totp

        user = accounts.get_user(s, "hieutruong")
        assert verify_totp(user, new.at(later), at=later) is not None
        assert verify_totp(user, old.at(later), at=later) is None or old.at(later) == new.at(later)


def test_password_change_with_totp_on_needs_a_code(sqlite_world: Archive):
    a = sqlite_world
    web = _session(a, "hieutruong")
    totp = _turn_totp_on(web)
    body = {"old_password": PASSWORD, "new_password": "mot-mat-khau-moi-rat-dai"}
    r = web.post("/api/v1/me/password", json=body)
    assert r.status_code == 422 and r.json()["error"] == "totp_required"
    assert accounts.check_password(_user(a, "hieutruong").password_hash, PASSWORD)
    assert web.post("/api/v1/me/password", json=body | {"totp": _code(totp, 1)}).status_code == 204
    assert accounts.check_password(_user(a, "hieutruong").password_hash, body["new_password"])


def test_minting_a_token_asks_for_the_password(sqlite_world: Archive):
    web = _session(sqlite_world, "gvbm")
    assert web.post("/api/v1/tokens", json={}).status_code == 422  # no password
    r = web.post("/api/v1/tokens", json={"password": "khong-dung-mat-khau"})
    assert r.status_code == 422 and r.json()["error"] == "bad_password"
    r = web.post("/api/v1/tokens", json={"password": PASSWORD, "days": 30, "scopes": "document.read"})
    assert r.status_code == 201 and r.json()["user"] == "gvbm"
    with sqlite_world.sessions() as s:
        assert len(s.scalars(select(ApiToken).where(ApiToken.user.has(username="gvbm"))).all()) == 1


def _mint(a: Archive, username: str) -> dict[str, str]:
    web = _session(a, username)
    r = web.post("/api/v1/tokens", json={"password": PASSWORD})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_a_password_reset_or_disabling_revokes_the_persons_tokens(sqlite_world: Archive):
    a = sqlite_world
    c = client_for(a)
    admin = _session(a, "quantri")
    minted, scripted = _mint(a, "gvbm"), bearer(a, "gvbm")
    assert c.get("/api/v1/me", headers=minted).status_code == 200
    r = admin.post("/api/v1/users/gvbm/password", json={})
    assert r.status_code == 200
    assert c.get("/api/v1/me", headers=minted).status_code == 401
    assert c.get("/api/v1/me", headers=scripted).status_code == 401
    new_password = r.json()["password"]
    with a.sessions() as s, s.begin():  # back to the known password, for the next round
        accounts.get_user(s, "gvbm").password_hash = password_hash(PASSWORD)
    minted = _mint(a, "gvbm")
    assert admin.post("/api/v1/users/gvbm/disable").status_code == 200
    assert admin.post("/api/v1/users/gvbm/enable").status_code == 200
    assert c.get("/api/v1/me", headers=minted).status_code == 401  # dead for good, not only while disabled
    # changing one's own password does the same
    minted = _mint(a, "gvbm")
    web = _session(a, "gvbm")
    change = {"old_password": PASSWORD, "new_password": "mat-khau-moi-cua-toi"}
    assert web.post("/api/v1/me/password", json=change).status_code == 204
    assert c.get("/api/v1/me", headers=minted).status_code == 401
    with a.sessions() as s:
        revoked = [e.detail for e in s.scalars(select(Event).where(Event.action == "token.revoke"))]
    assert [d["reason"] for d in revoked] == ["password_reset", "disabled", "password_reset"]
    assert new_password


def test_every_login_costs_one_argon2_verification(sqlite_world: Archive, monkeypatch: Any):
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    with sqlite_world.sessions() as s, s.begin():
        accounts.create_user(s, username="chua-co-mat-khau")  # an account without a password
    c = client_for(sqlite_world)
    cases = [("khong-co-ai", "x"), ("chua-co-mat-khau", "x"), ("gvbm", "sai-mat-khau"), ("gvcn", PASSWORD)]
    for username, password in cases:
        before = counting.verified
        c.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert counting.verified - before == 1, username


def test_token_lifetime_is_bounded_everywhere(tmp_path: Path):
    a = make_archive(
        tmp_path, seed=seed_world_with_passwords, replicas=folder_replicas(tmp_path / "replicas")
    )
    with a.sessions() as s:
        for days in (0, -1, 3651):
            with pytest.raises(InvalidInput) as exc:
                accounts.create_token(s, user=accounts.get_user(s, "gvbm"), ttl_days=days)
            assert exc.value.code == "invalid_token_lifetime"
    web = _session(a, "gvbm")
    assert web.post("/api/v1/tokens", json={"password": PASSWORD, "days": 0}).status_code == 422
    env = archive_env(a)
    for days in ("0", "3651"):
        out = run_cli("token", "create", "--user", "gvbm", "--days", days, env=env, check=False)
        assert out.returncode == 1 and "invalid_token_lifetime" in out.stderr, out.stderr
        assert "Thời hạn mã truy cập" in out.stderr and "lifetime" in out.stderr
    # the operator's command still issues tokens for a named person
    out = run_cli("token", "create", "--user", "gvbm", "--days", "1", env=env)
    assert (
        client_for(a)
        .get("/api/v1/me", headers={"Authorization": f"Bearer {out.stdout.split()[-1]}"})
        .json()["username"]
        == "gvbm"
    )
    with a.sessions() as s:
        assert all(t.expires_at is not None for t in s.scalars(select(ApiToken)))
    a.close()


def test_a_stolen_session_cannot_be_used_to_guess_the_password(sqlite_world: Archive, monkeypatch: Any):
    counting = CountingHasher(accounts._hasher)
    web = _session(sqlite_world, "gvbm")
    monkeypatch.setattr(accounts, "_hasher", counting)
    limit = sqlite_world.settings.login_max_failures
    for i in range(limit):
        r = web.post("/api/v1/tokens", json={"password": f"doan-{i}"})
        assert r.status_code == 422 and r.json()["error"] == "bad_password"
    r = web.post("/api/v1/tokens", json={"password": PASSWORD})  # even the right one, now
    assert r.status_code == 429 and r.json()["error"] == "login_throttled"
    r = web.post(
        "/api/v1/me/password", json={"old_password": PASSWORD, "new_password": "mat-khau-moi-dai-du"}
    )
    assert r.status_code == 429
    assert counting.verified == limit
    with sqlite_world.sessions() as s:
        actions = [e.action for e in s.scalars(select(Event).where(Event.action.like("auth.reauth%")))]
    assert actions == ["auth.reauth_failed"] * limit + ["auth.reauth_throttled"] * 2
