"""Disposal is judged on the server's date only (finding 1): a client-given date on propose/approve/execute is refused
(422 server_date_only, API and CLI), read-only "as of" answers say they are simulations, execution re-checks every
document at that moment, and the date used is in the events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive.accounts import get_user
from archive.context import Archive
from archive.models import Document, Event
from hoso.app import create_app
from retention import clock
from retention.disposal import approve_batch, execute_batch, propose_batch
from retention.holds import place_hold
from storage import content_key
from tests.factories import bearer, folder_replicas, hoso_env
from tests.processes import run_cli

from .conftest import ingest_pdf

FUTURE = "2100-01-01"


@pytest.fixture
def admin(catalog: Archive) -> Iterator[TestClient]:
    yield TestClient(
        create_app(catalog.settings, archive=catalog), headers=bearer(catalog, name="test", ttl_days=1)
    )


def status_of(a: Archive, doc_id: str) -> str:
    with a.sessions() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        return doc.status


def test_a_client_date_cannot_dispose_of_a_record_before_its_date(
    catalog: Archive, admin: TestClient, tmp_path: Path
):
    # a 2023-2024 class logbook (THPT, 5 years) may be disposed of from 1/1/2030, not before
    young = ingest_pdf(catalog, tmp_path, year="2023-2024")
    old = ingest_pdf(catalog, tmp_path, year="2018-2019")  # really due on the server's date

    refused = admin.post(
        "/api/v1/retention/batches", json={"school": "T01", "document_ids": [young.document.id], "on": FUTURE}
    )
    assert refused.status_code == 422 and refused.json()["error"] == "server_date_only"
    assert " / " in refused.json()["message"]
    not_due = admin.post(
        "/api/v1/retention/batches", json={"school": "T01", "document_ids": [young.document.id]}
    )
    assert not_due.status_code == 422 and not_due.json()["error"] == "not_due"

    batch = admin.post("/api/v1/retention/batches", json={"school": "T01"})
    assert batch.status_code == 201
    assert [i["document_id"] for i in batch.json()["items"]] == [old.document.id]
    bid = batch.json()["id"]
    for step in ("approve", "execute"):
        r = admin.post(f"/api/v1/retention/batches/{bid}/{step}", params={"on": FUTURE})
        assert r.status_code == 422 and r.json()["error"] == "server_date_only", step
    assert admin.get("/api/v1/retention/batches").json()[0]["status"] == "proposed"  # nothing happened
    assert status_of(catalog, young.document.id) == "active"


def test_read_only_answers_say_when_they_are_a_simulation(
    catalog: Archive, admin: TestClient, tmp_path: Path
):
    young = ingest_pdf(catalog, tmp_path, year="2023-2024")
    real = admin.get(f"/api/v1/retention/documents/{young.document.id}").json()
    assert real["simulation"] is False and real["as_of"] == clock.today().isoformat() and not real["due"]
    simulated = admin.get(f"/api/v1/retention/documents/{young.document.id}", params={"on": FUTURE})
    assert (
        simulated.json()["simulation"] is True
        and simulated.json()["as_of"] == FUTURE
        and simulated.json()["due"]
    )
    assert simulated.headers["X-Hoso-Simulation"] == FUTURE
    due = admin.get("/api/v1/retention/due", params={"on": FUTURE})
    assert due.headers["X-Hoso-Simulation"] == FUTURE
    assert {d["simulation"] for d in due.json()} == {True}
    assert admin.get("/api/v1/retention/due").json() == []  # on the server's date nothing is due
    assert "X-Hoso-Simulation" not in admin.get("/api/v1/retention/due").headers


def test_execution_rechecks_on_the_server_date_and_records_it(
    catalog: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    a = catalog
    young = ingest_pdf(a, tmp_path, year="2023-2024")
    # proposed and approved on a server whose clock said 2100 …
    monkeypatch.setattr("retention.clock.today", lambda: date(2100, 1, 1))
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=b.id, user=get_user(s, "admin"))
    # … executed now: what was true at approval does not count, the document is not due today
    monkeypatch.undo()
    with pytest.raises(Exception) as refused:
        execute_batch(a, batch_id=b.id, sign=None)
    assert getattr(refused.value, "code", None) == "no_longer_due" and young.document.id in str(refused.value)
    assert status_of(a, young.document.id) == "active"
    assert all(s.head(content_key(young.version.sha256)) for s in a.replicas.stores)
    with a.sessions() as s:
        events = {e.action: e.detail for e in s.scalars(select(Event).where(Event.action.like("disposal.%")))}
    assert (
        events["disposal.propose"]["on"] == "2100-01-01" and events["disposal.approve"]["on"] == "2100-01-01"
    )
    assert "disposal.execute" not in events


def test_a_hold_placed_while_the_record_is_signed_stops_the_execution(catalog: Archive, tmp_path: Path):
    a = catalog
    old = ingest_pdf(a, tmp_path, year="2018-2019")
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=b.id, user=get_user(s, "admin"))

    def sign_while_an_inspection_starts(pdf: bytes) -> bytes:
        with a.sessions() as s:
            admin = get_user(s, "admin")
        place_hold(a, document_id=old.document.id, reason="inspection", reference="QĐ 9/TTr", user=admin)
        return pdf

    with pytest.raises(Exception) as refused:
        execute_batch(a, batch_id=b.id, sign=sign_while_an_inspection_starts)
    assert getattr(refused.value, "code", None) == "no_longer_due"
    assert status_of(a, old.document.id) == "active"
    assert all(s.head(content_key(old.version.sha256)) for s in a.replicas.stores)


def test_the_date_used_is_in_every_disposal_event(catalog: Archive, tmp_path: Path):
    a = catalog
    ingest_pdf(a, tmp_path, year="2018-2019")
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=b.id, user=get_user(s, "admin"))
    assert execute_batch(a, batch_id=b.id, sign=None).status == "executed"
    today = clock.today().isoformat()
    with a.sessions() as s:
        events = {e.action: e.detail for e in s.scalars(select(Event).where(Event.action.like("disposal.%")))}
    assert set(events) == {"disposal.propose", "disposal.approve", "disposal.execute", "disposal.executed"}
    assert {d["on"] for d in events.values()} == {today}


def test_the_cli_refuses_on_for_disposal_and_marks_simulations(tmp_path: Path):
    env = hoso_env(
        tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'var' / 'hoso.sqlite3'}",
        replicas=folder_replicas(tmp_path / "stores"),
    )
    for args in (
        ("retention", "propose", "--school", "T01", "--user", "admin", "--on", FUTURE),
        ("retention", "approve", "1", "--user", "admin", "--on", FUTURE),
        ("retention", "execute", "1", "--on", FUTURE),
    ):
        done = run_cli(*args, env=env, check=False)
        out = done.stdout + done.stderr
        assert done.returncode != 0 and "server_date_only" in out and " / " in out, (args, out)
        assert "Traceback" not in out
    due = run_cli("retention", "due", "--on", FUTURE, env=env)
    assert "SIMULATION" in due.stderr and FUTURE in due.stderr
    assert "SIMULATION" not in run_cli("retention", "due", env=env).stderr
