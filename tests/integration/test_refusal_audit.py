"""Refusals are in the audit trail (finding 11) and recording them never competes with the refused request's own
transaction (finding 9): every 401 for a presented-but-bad credential and every 403 is one `access.denied` event,
floods are bounded, and a refused request answers at once on SQLite and PostgreSQL while other writes go on."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive import accounts
from archive.context import Archive
from archive.db import utcnow
from archive.models import ApiToken, Event
from archive.permissions import DENIALS_PER_MINUTE
from hoso.app import create_app
from tests.factories import add_person, issue_token, make_archive, make_pdf

WATCHDOG_SECONDS = 20  # far below SQLite's 30 s busy timeout; PostgreSQL would wait for ever


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, database_url=db_url)
    for name, role in (("qt.t01", "school_admin"), ("gv.t01", "gvbm")):
        add_person(a, name, (role, "T01"), home="T01")
    yield a
    a.close()


def client(a: Archive, secret: str | None = None) -> TestClient:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return TestClient(create_app(a.settings, archive=a), headers=headers)


def denials(a: Archive) -> list[Event]:
    with a.sessions() as s:
        return list(s.scalars(select(Event).where(Event.action == "access.denied").order_by(Event.id)))


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


# --- finding 11: 401s and 403s are recorded -------------------------------------------------------------------------
def test_revoked_token_is_refused_and_recorded_once(world: Archive):
    issued = issue_token(world, "gv.t01")
    secret, token_id = issued.secret, issued.token.id
    with world.sessions() as s, s.begin():
        accounts.revoke_token(s, s.get(ApiToken, token_id))
    before = len(denials(world))
    r = client(world, secret).get("/api/v1/me")
    assert r.status_code == 401
    new = denials(world)[before:]
    assert len(new) == 1
    assert new[0].actor == "gv.t01" and new[0].outcome == "denied"
    assert new[0].detail["reason"] == "token_revoked" and new[0].detail["status"] == 401


def test_expired_token_is_refused_and_recorded(world: Archive):
    issued = issue_token(world, "gv.t01")
    secret, token_id = issued.secret, issued.token.id
    with world.sessions() as s, s.begin():
        s.get(ApiToken, token_id).expires_at = utcnow() - timedelta(minutes=1)
    r = client(world, secret).get("/api/v1/retention/holds")
    assert r.status_code == 401
    [event] = denials(world)
    assert event.detail["reason"] == "token_expired" and event.actor == "gv.t01"


def test_unknown_token_and_forged_session_are_recorded_but_no_credentials_is_not(world: Archive):
    anonymous = client(world)
    assert anonymous.get("/api/v1/me").status_code == 401
    assert denials(world) == []  # nothing presented: nothing to audit (and nothing to flood the trail with)
    assert client(world, "hoso_not-a-real-token").get("/api/v1/me").status_code == 401
    assert anonymous.get("/api/v1/me", headers={"Cookie": "hoso_session=forged"}).status_code == 401
    reasons = [e.detail["reason"] for e in denials(world)]
    assert reasons == ["token_unknown", "session_expired"]
    assert all(e.actor == "system" and e.detail["ip"] for e in denials(world))


def test_retention_403_is_recorded(world: Archive, tmp_path: Path):
    from archive.ingest import ingest_file

    pdf = make_pdf(tmp_path / "a.pdf", extra=uuid.uuid4().bytes)
    doc = ingest_file(
        world, pdf, filename="a.pdf", school="T01", type_code="so-ghi-dau-bai", year="2018-2019"
    )
    teacher = client(world, issue_token(world, "gv.t01").secret)
    body = {"document_id": doc.document.id, "reason": "inspection", "reference": "QĐ 1"}
    checks = [
        teacher.post("/api/v1/retention/holds", json=body),
        teacher.post("/api/v1/retention/batches", json={"school": "T01"}),
    ]
    assert [r.status_code for r in checks] == [403, 403]
    events = denials(world)
    assert len(events) == 2 and {e.actor for e in events} == {"gv.t01"}
    assert [e.detail["action"] for e in events] == [
        "retention.approve_disposal",
        "retention.propose_disposal",
    ]


def test_a_flood_of_bad_tokens_writes_a_bounded_number_of_events(world: Archive):
    anonymous = client(world)
    codes = set()
    for i in range(1000):
        codes.add(anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer hoso_bad-{i}"}).status_code)
    assert codes == {401}
    events = denials(world)
    assert 1 <= len(events) <= DENIALS_PER_MINUTE * 2  # at most two one-minute windows can be touched
    assert len(events) < 1000


# --- finding 9: a refusal does not block other writers ----------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"organisation": "C01"},  # refused before anything is written
        {"organisation": "T01", "roles": [{"role": "gvbm", "organisation": "C01"}]},  # refused after a write
    ],
    ids=["other-school", "role-in-other-school"],
)
def test_refused_user_creation_answers_at_once_and_is_recorded_once(world: Archive, body: dict[str, Any]):
    school_admin = client(world, issue_token(world, "qt.t01").secret)
    admin = client(world, issue_token(world, "admin").secret)
    before = len(denials(world))

    refused, refused_out = in_thread(
        lambda: school_admin.post("/api/v1/users", json={"username": "x." + uuid.uuid4().hex[:6]} | body)
    )
    other, other_out = in_thread(
        lambda: admin.post(
            "/api/v1/users", json={"username": "y." + uuid.uuid4().hex[:6], "organisation": "T01"}
        )
    )
    refused.join(WATCHDOG_SECONDS)
    other.join(WATCHDOG_SECONDS)
    assert not refused.is_alive(), "the refused request hung"
    assert not other.is_alive(), "a concurrent write was blocked by the refused request"
    assert "error" not in refused_out and "error" not in other_out, (refused_out, other_out)
    r: httpx.Response = refused_out["value"]
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert other_out["value"].status_code == 201
    new = denials(world)[before:]
    assert len(new) == 1 and new[0].actor == "qt.t01" and new[0].detail["action"] == "user.manage"
    # the refused request left nothing else behind: its user was not created
    with world.sessions() as s:
        assert [u for u in s.scalars(select(Event.detail).where(Event.action == "user.create"))
                if str(u.get("username", "")).startswith("x.")] == []  # fmt: skip
