"""Issue 8, findings 4, 5 and 15: a school administrator cannot take over an account that also holds roles elsewhere,
nobody grants themself a role or mints a token in someone else's name, the principal's role comes from the level
above, and a username cannot be probed through GET /users/{name}."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive import accounts
from archive.context import Archive
from archive.errors import PermissionDenied
from archive.models import ApiToken, Event, User
from archive.permissions import roles_of
from tests.factories import PASSWORD, add_person, archive_env, bearer
from tests.integration.people.helpers import client_for, login
from tests.processes import run_cli


@pytest.fixture
def two_schools(sqlite_world: Archive) -> Archive:
    # home C01 like the school administrator's, but also teaching at C02
    add_person(sqlite_world, "gv.hai.truong", ("gvbm", "C01"), ("gvbm", "C02"), home="C01", password=PASSWORD)
    # home C01, and an inspector at the Phòng
    add_person(
        sqlite_world, "gv.phong", ("gvbm", "C01"), ("inspector_phong", "79-Q1"), home="C01", password=PASSWORD
    )
    # home C02 (another school), a role at C01: still not the C01 administrator's to manage
    add_person(sqlite_world, "gv.ghe", ("gvbm", "C01"), home="C02", password=PASSWORD)
    return sqlite_world


def _session_client(a: Archive, username: str) -> TestClient:
    c = client_for(a)
    login(c, username)
    return c


MANAGE = [
    ("get", "/api/v1/users/{u}", None),
    ("post", "/api/v1/users/{u}/roles", {"role": "to_truong", "organisation": "C01"}),
    ("delete", "/api/v1/users/{u}/roles/gvbm/C01", None),
    ("post", "/api/v1/users/{u}/disable", None),
    ("post", "/api/v1/users/{u}/enable", None),
    ("post", "/api/v1/users/{u}/password", {}),
    ("post", "/api/v1/users/{u}/totp/reset", None),
    ("get", "/api/v1/users/{u}/sessions", None),
    ("get", "/api/v1/tokens?user={u}", None),
]


def _call(c: TestClient, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    return c.request(method.upper(), path, **kwargs)


@pytest.mark.parametrize("username", ["gv.hai.truong", "gv.phong", "gv.ghe"])
def test_a_school_admin_cannot_manage_an_account_with_roles_elsewhere(two_schools: Archive, username: str):
    a = two_schools
    victim_token = bearer(a, username)
    admin = _session_client(a, "quantri")
    for method, path, body in MANAGE:
        r = _call(admin, method, path.format(u=username), body)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"] == "forbidden"
    with a.sessions() as s:
        token_id = s.scalars(select(ApiToken.id).where(ApiToken.user.has(username=username))).one()
    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 403
    assert username not in {u["username"] for u in admin.get("/api/v1/users").json()}
    # nothing changed: the password, the token and the roles are the person's still
    login(client_for(a), username)
    assert client_for(a).get("/api/v1/me", headers=victim_token).status_code == 200
    # the system administrator manages everyone
    root = client_for(a)
    assert root.get(f"/api/v1/users/{username}", headers=bearer(a, "admin")).status_code == 200


def test_a_school_admin_still_manages_the_people_of_the_school(two_schools: Archive):
    admin = _session_client(two_schools, "quantri")
    assert admin.get("/api/v1/users/gvbm").status_code == 200
    assert (
        admin.post("/api/v1/users/gvbm/roles", json={"role": "to_truong", "organisation": "C01"}).status_code
        == 201
    )
    assert admin.post("/api/v1/users/gvbm/password", json={}).status_code == 200
    assert admin.post("/api/v1/users/gvbm/disable").status_code == 200
    assert admin.post("/api/v1/users/gvbm/enable").status_code == 200
    assert "gvbm" in {u["username"] for u in admin.get("/api/v1/users").json()}


def test_unknown_and_foreign_accounts_get_the_same_answer(two_schools: Archive):
    a = two_schools
    admin = _session_client(a, "quantri")
    answers = {name: admin.get(f"/api/v1/users/{name}") for name in ("khong-co-ai", "gv.hai.truong", "admin")}
    assert {r.status_code for r in answers.values()} == {403}
    assert len({r.text for r in answers.values()}) == 1  # not even the message tells them apart
    # the same for every route that names an account
    for method, path, body in MANAGE:
        assert _call(admin, method, path.format(u="khong-co-ai"), body).status_code == 403
    # the system administrator, who may manage any account, learns that it does not exist
    r = client_for(a).get("/api/v1/users/khong-co-ai", headers=bearer(a, "admin"))
    assert r.status_code == 404 and r.json()["error"] == "user_not_found"


def test_nobody_grants_themself_a_role_and_the_principal_comes_from_above(two_schools: Archive):
    a = two_schools
    admin = _session_client(a, "quantri")
    for role in ("hieu_truong", "gvbm"):
        r = admin.post("/api/v1/users/quantri/roles", json={"role": role, "organisation": "C01"})
        assert r.status_code == 403 and r.json()["error"] == "self_grant", r.text
    r = admin.post("/api/v1/users/gvbm/roles", json={"role": "hieu_truong", "organisation": "C01"})
    assert r.status_code == 403 and r.json()["error"] == "role_reserved"
    r = admin.delete("/api/v1/users/hieutruong/roles/hieu_truong/C01")
    assert r.status_code == 403 and r.json()["error"] == "role_reserved"
    new = {
        "username": "hieu.truong.moi",
        "organisation": "C01",
        "roles": [{"role": "hieu_truong", "organisation": "C01"}],
    }
    r = admin.post("/api/v1/users", json=new)
    assert r.status_code == 403 and r.json()["error"] == "role_reserved"
    with a.sessions() as s:
        roles = roles_of(s, accounts.get_user(s, "quantri"))
        assert [(x["role"], x["organisation"]) for x in roles] == [("school_admin", "C01")]
        assert s.scalar(select(User).where(User.username == "hieu.truong.moi")) is None
        denied = [
            e.detail.get("reason") for e in s.scalars(select(Event).where(Event.action == "access.denied"))
        ]
    assert denied.count("self_grant") == 2 and denied.count("role_reserved") == 3
    # the level above may
    root = client_for(a)
    r = root.post(
        "/api/v1/users/gvbm/roles",
        json={"role": "hieu_truong", "organisation": "C01"},
        headers=bearer(a, "admin"),
    )
    assert r.status_code == 201


def test_nobody_mints_a_token_in_someone_elses_name(two_schools: Archive):
    a = two_schools
    admin = _session_client(a, "quantri")
    r = admin.post("/api/v1/tokens", json={"user": "hieutruong", "password": PASSWORD, "days": 3650})
    assert r.status_code == 403 and r.json()["error"] == "token_for_other"
    with a.sessions() as s:
        assert s.scalars(select(ApiToken).where(ApiToken.user.has(username="hieutruong"))).all() == []
        # the rule lives in the service itself, whoever calls it
        with pytest.raises(PermissionDenied) as exc:
            accounts.create_token(
                s, user=accounts.get_user(s, "hieutruong"), actor=accounts.get_user(s, "quantri")
            )
        assert exc.value.code == "token_for_other"
    # an administrator may still revoke a token of someone they manage
    teacher = client_for(a)
    login(teacher, "gvbm")
    issued = teacher.post("/api/v1/tokens", json={"password": PASSWORD}).json()
    assert admin.delete(f"/api/v1/tokens/{issued['id']}").status_code == 200
    assert (
        client_for(a).get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"}).status_code
        == 401
    )


def test_the_command_line_applies_the_same_rule_to_by(two_schools: Archive):
    """`--by` names who acts, for the record: it may not name someone who could not have done it through the API.
    Without --by the server's operator acts as the system and may (a principal is appointed from above)."""
    a = two_schools
    env = archive_env(a, replicas=False)
    refused = [
        (("user", "reset-password", "gv.hai.truong", "--by", "quantri"), "forbidden"),
        (("user", "disable", "gv.phong", "--by", "quantri"), "forbidden"),
        (("user", "grant", "gvbm", "hieu_truong", "C01", "--by", "quantri"), "role_reserved"),
        (("user", "grant", "quantri", "gvbm", "C01", "--by", "quantri"), "self_grant"),
    ]
    for args, code in refused:
        out = run_cli(*args, env=env, check=False)
        assert out.returncode == 1 and f"[{code}]" in out.stderr, (args, out.stderr)
    login(client_for(a), "gv.hai.truong")  # the password is unchanged
    run_cli("user", "disable", "gvbm", "--by", "quantri", env=env)  # a person of the school: allowed
    run_cli("user", "grant", "gvcn", "hieu_truong", "C01", env=env)  # the operator
    with a.sessions() as s:
        assert not accounts.get_user(s, "gvbm").is_active
        assert "hieu_truong" in {r["role"] for r in roles_of(s, accounts.get_user(s, "gvcn"))}
