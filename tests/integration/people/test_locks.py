"""Locks: the principal (or the administrator on the principal's instruction) closes a school year's records of a type;
ingest and add_version then refuse new versions; locking and unlocking are in the trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from archive import accounts, locks, orgs
from archive.context import Archive
from archive.errors import Conflict, InvalidInput
from archive.ingest import ingest_file
from archive.models import Document, Event
from hoso.api.schemas import LockOut
from tests.factories import archive_env, bearer, folder_replicas, make_archive, make_pdf, seed_world
from tests.integration.people.helpers import client_for
from tests.processes import run_cli


def _ingest(a: Archive, path: Path, year: str = "2024-2025", type_code: str = "hoc-ba"):
    return ingest_file(a, path, filename=path.name, school="C01", type_code=type_code, year=year)


def test_locked_records_refuse_new_files_and_the_lock_is_recorded(world: Archive, tmp_path: Path):
    first = _ingest(world, make_pdf(tmp_path / "a.pdf", extra=b"a"))
    with world.sessions() as s, s.begin():
        locks.add_lock(
            s,
            school=orgs.get_organisation(s, "C01"),
            type_code="hoc-ba",
            year="2024-2025",
            actor=accounts.get_user(s, "hieutruong"),
            reason="Khóa học bạ cuối năm",
        )
    with pytest.raises(Conflict) as ei:
        _ingest(world, make_pdf(tmp_path / "b.pdf", extra=b"b"))
    assert ei.value.code == "locked" and ei.value.status == 409 and "C01" in ei.value.message_vi
    for store in world.replicas.stores:  # refused before any copy was written
        assert len(list(store.list("content/"))) == 1
    # another year, another type: still open; the same bytes again: the existing document, nothing new
    assert _ingest(world, make_pdf(tmp_path / "c.pdf", extra=b"c"), year="2025-2026").created
    assert _ingest(world, make_pdf(tmp_path / "d.pdf", extra=b"d"), type_code="so-dang-bo").created
    assert not _ingest(world, tmp_path / "a.pdf").created
    # add_version itself refuses too (signing and corrections go through it)
    from archive.ingest import add_version

    with world.sessions() as s, s.begin():
        doc = s.get(Document, first.document.id)
        with pytest.raises(Conflict):
            add_version(world, s, doc, sha256="0" * 64, size=1, media_type="application/pdf", filename="x.pdf",
                        page_count=1, signed=False, validation=None, reason="sửa", actor=None,
                        content_results=[], event="document.sign")  # fmt: skip
    with world.sessions() as s, s.begin():
        locks.remove_lock(
            s,
            school=orgs.get_organisation(s, "C01"),
            type_code="hoc-ba",
            year="2024-2025",
            actor=accounts.get_user(s, "hieutruong"),
        )
    assert _ingest(world, make_pdf(tmp_path / "b.pdf", extra=b"b")).created
    with world.sessions() as s:
        evs = s.scalars(select(Event).where(Event.action.like("lock.%")).order_by(Event.id)).all()
    assert [(e.action, e.actor, e.detail["type"], e.detail["year"]) for e in evs] == [
        ("lock.add", "hieutruong", "hoc-ba", "2024-2025"),
        ("lock.remove", "hieutruong", "hoc-ba", "2024-2025"),
    ]


def test_the_administrator_needs_the_principals_instruction(world: Archive):
    with world.sessions() as s, s.begin():
        school = orgs.get_organisation(s, "C01")
        admin = accounts.get_user(s, "quantri")
        with pytest.raises(InvalidInput) as ei:
            locks.add_lock(s, school=school, type_code="hoc-ba", year="2024-2025", actor=admin)
        assert ei.value.code == "instruction_required"
        with pytest.raises(InvalidInput) as ei:
            locks.add_lock(
                s, school=school, type_code="hoc-ba", year="2024-2025", actor=admin,
                instructed_by=accounts.get_user(s, "phohieutruong"),
            )  # fmt: skip
        assert ei.value.code == "not_principal"
        locks.add_lock(
            s, school=school, type_code="hoc-ba", year="2024-2025", actor=admin,
            instructed_by=accounts.get_user(s, "hieutruong"),
        )  # fmt: skip
        with pytest.raises(Conflict):
            locks.add_lock(s, school=school, type_code="hoc-ba", year="2024-2025",
                           actor=accounts.get_user(s, "hieutruong"))  # fmt: skip
        [row] = locks.list_locks(s)
        d = LockOut.of(row).model_dump()
        assert (d["locked_by"], d["instructed_by"]) == ("quantri", "hieutruong")
        ev = s.scalars(select(Event).where(Event.action == "lock.add")).one()
        assert ev.detail["instructed_by"] == "hieutruong" and ev.actor == "quantri"


def test_bad_lock_targets_are_refused(world: Archive):
    with world.sessions() as s, s.begin():
        ht = accounts.get_user(s, "hieutruong")
        c01 = orgs.get_organisation(s, "C01")
        for kw, code in (
            ({"type_code": "khong-co", "year": "2024-2025"}, "unknown_type"),
            ({"type_code": "hoc-ba", "year": "2024-2026"}, "invalid_input"),
        ):
            with pytest.raises(InvalidInput) as ei:
                locks.add_lock(s, school=c01, actor=ht, **kw)
            assert ei.value.code == code


def test_lock_routes_follow_the_matrix(sqlite_world: Archive):
    c = client_for(sqlite_world)
    body = {"school": "C01", "type": "hoc-ba", "year": "2024-2025"}
    assert c.post("/api/v1/locks", json=body, headers=bearer(sqlite_world, "gvcn")).status_code == 403
    assert (
        c.post("/api/v1/locks", json=body, headers=bearer(sqlite_world, "thanhtraphong")).status_code == 403
    )
    r = c.post("/api/v1/locks", json=body, headers=bearer(sqlite_world, "quantri"))
    assert r.status_code == 422 and r.json()["error"] == "instruction_required"
    r = c.post(
        "/api/v1/locks", json=body | {"instructed_by": "hieutruong"}, headers=bearer(sqlite_world, "quantri")
    )
    assert r.status_code == 201
    listed = c.get("/api/v1/locks", headers=bearer(sqlite_world, "thanhtraphong")).json()
    assert [(x["school"], x["instructed_by"]) for x in listed] == [("C01", "hieutruong")]
    assert c.get("/api/v1/locks", headers=bearer(sqlite_world, "thanhtraso")).json() == []
    r = c.post("/api/v1/locks/remove", json=body, headers=bearer(sqlite_world, "hieutruong"))
    assert r.status_code == 200 and r.json()["locked"] is False


def test_lock_cli(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    a = make_archive(tmp_path, seed=seed_world, database_url=db, replicas=folder_replicas(tmp_path / "r"))
    env = archive_env(a)
    args = ["--school", "C01", "--type", "hoc-ba", "--year", "2024-2025"]
    run_cli("lock", "add", *args, "--by", "quantri", "--instructed-by", "hieutruong", env=env)
    out = run_cli("lock", "list", "--json", env=env).stdout
    assert '"instructed_by": "hieutruong"' in out
    pdf = make_pdf(tmp_path / "hb.pdf")
    refused = run_cli("ingest", str(pdf), *args, env=env, check=False)
    assert refused.returncode == 1 and "[locked]" in refused.stderr
    bad = run_cli(
        "lock", "remove", *args, "--by", "gvbm", "--instructed-by", "hieutruong", env=env, check=False
    )
    assert bad.returncode == 1 and "[forbidden]" in bad.stderr
    bad = run_cli("lock", "remove", *args, "--by", "quantri", env=env, check=False)
    assert bad.returncode == 1 and "instruction_required" in bad.stderr
    run_cli("lock", "remove", *args, "--by", "hieutruong", env=env)
    assert run_cli("lock", "list", env=env).stdout.strip() == ""
    a.close()
