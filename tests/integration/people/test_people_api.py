"""People management, tokens and the audit log over HTTP, with the scope of each administrator."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from archive import accounts, orgs
from archive.context import Archive
from archive.models import Event
from tests.factories import PASSWORD, archive_env, bearer, folder_replicas, make_archive, seed_world
from tests.integration.people.helpers import client_for, login
from tests.processes import run_cli


def test_school_admin_manages_the_people_of_their_school_only(sqlite_world: Archive):
    c = client_for(sqlite_world)
    h = bearer(sqlite_world, "quantri")
    new = {
        "username": "gv.moi",
        "full_name": "Lê Văn Mới",
        "organisation": "C01",
        "password": "mot-mat-khau-du-dai",
        "roles": [{"role": "gvbm", "organisation": "C01"}],
    }
    r = c.post("/api/v1/users", json=new, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["roles"] == [{"role": "gvbm", "organisation": "C01", "name_vi": "Giáo viên bộ môn"}]
    login(client_for(sqlite_world), "gv.moi", "mot-mat-khau-du-dai")
    # another school, an inspector role, a system administrator: refused
    other = new | {"username": "gv.khac", "organisation": "C02", "roles": []}
    assert c.post("/api/v1/users", json=other, headers=h).status_code == 403
    r = c.post(
        "/api/v1/users/gv.moi/roles", json={"role": "inspector_phong", "organisation": "79-Q1"}, headers=h
    )
    assert r.status_code == 403
    r = c.post("/api/v1/users/gv.moi/roles", json={"role": "to_truong", "organisation": "C01"}, headers=h)
    assert r.status_code == 201 and {x["role"] for x in r.json()["roles"]} == {"gvbm", "to_truong"}
    # a role in the wrong kind of organisation is a clear error, even for the system administrator
    r = c.post(
        "/api/v1/users/gv.moi/roles",
        json={"role": "inspector_so", "organisation": "C01"},
        headers=bearer(sqlite_world, "admin"),
    )
    assert r.status_code == 422 and r.json()["error"] == "role_org_mismatch"
    assert c.delete("/api/v1/users/gv.moi/roles/to_truong/C01", headers=h).status_code == 200
    assert {u["username"] for u in c.get("/api/v1/users", headers=h).json()} == {
        "quantri", "vanthu", "hieutruong", "phohieutruong", "totruong", "gvcn", "gvbm", "gv.moi",
    }  # fmt: skip
    # disabling ends the person's access at once
    teacher = bearer(sqlite_world, "gv.moi")
    assert c.get("/api/v1/me", headers=teacher).status_code == 200
    assert c.post("/api/v1/users/gv.moi/disable", headers=h).json()["is_active"] is False
    assert c.get("/api/v1/me", headers=teacher).status_code == 401
    assert c.post("/api/v1/users/thanhtraso/disable", headers=h).status_code == 403
    with sqlite_world.sessions() as s:
        actions = [
            (e.action, e.actor)
            for e in s.scalars(
                select(Event).where(Event.detail["username"].as_string() == "gv.moi").order_by(Event.id)
            )
        ]
    assert actions[:2] == [("user.create", "quantri"), ("role.grant", "quantri")]
    assert ("role.revoke", "quantri") in actions and ("user.disable", "quantri") in actions


def test_tokens_are_scoped_expiring_and_revocable(sqlite_world: Archive):
    c = client_for(sqlite_world)
    h = bearer(sqlite_world, "hieutruong")
    web = client_for(sqlite_world)  # tokens are minted from a web session, with the password (issue 8)
    login(web, "hieutruong")
    pw = {"password": PASSWORD}
    r = web.post("/api/v1/tokens", json={"name": "máy quét", "days": 30, "scopes": "document.read"} | pw)
    assert r.status_code == 201
    issued = r.json()
    scoped = {"Authorization": f"Bearer {issued['token']}"}
    assert issued["scopes"] == "document.read" and issued["expires_at"]
    assert c.get("/api/v1/documents", headers=scoped).status_code == 200
    lock = {"school": "C01", "type": "hoc-ba", "year": "2024-2025"}
    assert c.post("/api/v1/locks", json=lock, headers=scoped).status_code == 403
    # a scoped token cannot mint a wider one
    assert c.post("/api/v1/tokens", json={"scopes": "*"}, headers=scoped).status_code == 403
    r = web.post("/api/v1/tokens", json={"scopes": "document.nope"} | pw)
    assert r.status_code == 422 and r.json()["error"] == "invalid_scope"
    listed = c.get("/api/v1/tokens", headers=h).json()
    assert issued["id"] in [t["id"] for t in listed] and all("token" not in t for t in listed)
    # someone else's token: not theirs to revoke
    assert c.delete(f"/api/v1/tokens/{issued['id']}", headers=bearer(sqlite_world, "gvbm")).status_code == 403
    r = c.delete(f"/api/v1/tokens/{issued['id']}", headers=h)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert c.get("/api/v1/me", headers=scoped).status_code == 401


def test_token_revoke_command(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    a = make_archive(tmp_path, seed=seed_world, database_url=db, replicas=folder_replicas(tmp_path / "r"))
    env = archive_env(a)
    secret = run_cli(
        "token", "create", "--user", "gvbm", "--scopes", "document.read", env=env
    ).stdout.split()[-1]
    c = client_for(a)
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    tokens = json.loads(run_cli("token", "list", "--user", "gvbm", "--json", env=env).stdout)
    assert [t["scopes"] for t in tokens] == ["document.read"]
    run_cli("token", "revoke", str(tokens[0]["id"]), env=env)
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    out = run_cli("user", "reset-password", "gvbm", env=env).stdout.strip().splitlines()
    assert len(out[-1]) >= 12
    login(client_for(a), "gvbm", out[-1])
    a.close()


def test_audit_query_and_export_are_scoped(sqlite_world: Archive):
    c = client_for(sqlite_world)
    c.post("/api/v1/auth/login", json={"username": "gvbm", "password": "sai-mat-khau"})
    login(c, "gvbm")
    principal = bearer(sqlite_world, "hieutruong")
    r = c.get("/api/v1/audit/events", params={"action": "auth.", "actor": "gvbm"}, headers=principal)
    assert r.status_code == 200
    assert [e["action"] for e in r.json()["items"]] == ["auth.login_failed", "auth.login"]
    # the principal of C01 does not see another school's events; the system administrator sees all
    everything = c.get(
        "/api/v1/audit/events", params={"limit": 1000}, headers=bearer(sqlite_world, "admin")
    ).json()
    mine = c.get("/api/v1/audit/events", params={"limit": 1000}, headers=principal).json()
    assert 0 < mine["total"] < everything["total"]
    with sqlite_world.sessions() as s:
        c01 = s.scalar(select(Event.organisation_id).where(Event.action == "auth.login"))
    assert {e["organisation_id"] for e in mine["items"]} == {c01}
    # a teacher may not read the trail; the refusal itself is recorded
    assert c.get("/api/v1/audit/events", headers=bearer(sqlite_world, "gvbm")).status_code == 403
    # exports carry the hashes so they can be re-verified elsewhere
    r = c.get("/api/v1/audit/export", params={"format": "csv", "actor": "gvbm"}, headers=principal)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["action"] for x in rows][:2] == ["auth.login_failed", "auth.login"]
    assert all(len(x["hash"]) == 64 for x in rows)
    r = c.get("/api/v1/audit/export", params={"format": "json", "action": "access.denied"}, headers=principal)
    denied = r.json()
    assert denied and denied[-1]["actor"] == "gvbm" and denied[-1]["detail"]["action"] == "audit.read"
    r = c.get(
        "/api/v1/audit/events", params={"since": "2020-01-01T00:00", "until": "2020-01-02"}, headers=principal
    )
    assert r.json()["total"] == 0
    assert c.get("/api/v1/audit/events", params={"since": "hôm qua"}, headers=principal).status_code == 422
    assert c.get("/api/v1/audit/verify", headers=principal).status_code == 403
    assert c.get("/api/v1/audit/verify", headers=bearer(sqlite_world, "admin")).json()["ok"] is True


def test_school_admin_cannot_revoke_roles_of_an_account_they_do_not_manage(sqlite_world: Archive):
    """Revoking needs the same two checks as granting: the organisation where the role is held AND the person's
    account. A system administrator (or a teacher of another school) holding a role at C01 is not C01's to change."""
    admin, h = bearer(sqlite_world, "admin"), bearer(sqlite_world, "quantri")
    c = client_for(sqlite_world)
    with (
        sqlite_world.sessions() as s,
        s.begin(),
    ):  # nobody grants themself a role: the operator does (issue 8)
        accounts.grant_role(s, accounts.get_user(s, "admin"), "hieu_truong", orgs.get_organisation(s, "C01"))
    other = {"username": "gv.c02", "organisation": "C02", "password": "mot-mat-khau-du-dai"}
    assert c.post("/api/v1/users", json=other, headers=admin).status_code == 201
    c.post("/api/v1/users/gv.c02/roles", json={"role": "gvbm", "organisation": "C01"}, headers=admin)
    for path in ("admin/roles/hieu_truong/C01", "gv.c02/roles/gvbm/C01"):
        r = c.delete(f"/api/v1/users/{path}", headers=h)
        assert r.status_code == 403, (path, r.text)
    assert [x["role"] for x in c.get("/api/v1/users/admin", headers=admin).json()["roles"]] == [
        "system_admin", "hieu_truong",
    ]  # fmt: skip
    assert [x["role"] for x in c.get("/api/v1/users/gv.c02", headers=admin).json()["roles"]] == ["gvbm"]
    # the system administrator may
    assert c.delete("/api/v1/users/gv.c02/roles/gvbm/C01", headers=admin).status_code == 200
