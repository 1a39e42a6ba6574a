"""`audit verify` finds an edited, deleted, inserted or reordered event and a truncated tail (SQLite and PostgreSQL),
and anchors timestamped by a real TSA catch a database administrator who rewrites the whole chain."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from archive.audit import ANCHOR_PREFIX, anchor_chain_head, verify, verify_chain
from archive.context import Archive
from archive.events import GENESIS, compute_hash, record_event
from archive.models import AuditAnchor, ChainHead, Event
from tests.factories import archive_env, folder_replicas, hoso_env, make_archive, seed_world
from tests.integration.people.conftest import Tsa
from tests.processes import free_port, run_cli


def _grow(a: Archive, n: int = 6) -> None:
    with a.sessions() as s, s.begin():
        for i in range(n):
            record_event(s, "test.event", detail={"i": i, "tên": "Nguyễn Thị Hồng"})


def _last_id(a: Archive) -> int:
    with a.sessions() as s:
        head = s.get(ChainHead, 1)
        assert head is not None and head.last_event_id is not None
        return head.last_event_id


def _edit(s: Session, k: int) -> None:
    s.execute(update(Event).where(Event.id == k).values(actor="ke-gian-lan"))


def _delete(s: Session, k: int) -> None:
    s.execute(delete(Event).where(Event.id == k))


def _reorder(s: Session, k: int) -> None:
    """Swap the contents of events k and k+1, keeping ids (the order a reader would see changes)."""
    a, b = s.get(Event, k), s.get(Event, k + 1)
    assert a is not None and b is not None
    fields = ("occurred_at", "actor", "action", "detail", "prev_hash", "hash", "organisation_id", "actor_id")
    va, vb = ({f: getattr(e, f) for f in fields} for e in (a, b))
    for f in fields:
        setattr(a, f, "swapping" if f == "hash" else vb[f])  # hashes are unique: go through a placeholder
        setattr(b, f, va[f])
    s.flush()
    a.hash = vb["hash"]


def _insert(s: Session, k: int) -> None:
    """Push events k… one place later and slip a forged event in at k, with a correct hash of its own."""
    for ev in s.scalars(select(Event).where(Event.id >= k).order_by(Event.id.desc())).all():
        s.execute(update(Event).where(Event.id == ev.id).values(id=ev.id + 1))
    s.expunge_all()  # the rows moved under the ORM's feet
    prev = s.get(Event, k - 1)
    forged = Event(id=k, occurred_at=prev.occurred_at, actor="admin", action="document.disposal", detail={},
                   prev_hash=prev.hash, hash="", outcome="ok")  # fmt: skip
    forged.hash = compute_hash(prev.hash, forged)
    s.add(forged)
    head = s.get(ChainHead, 1)
    head.last_event_id = (head.last_event_id or 0) + 1
    last = s.get(Event, head.last_event_id)
    head.last_hash = last.hash


def _truncate(s: Session, k: int) -> None:
    s.execute(delete(Event).where(Event.id >= k))


TAMPERING: dict[str, tuple[Callable[[Session, int], None], str, int]] = {
    # name: (how, expected break kind, offset of the reported event from k)
    "edited": (_edit, "hash", 0),
    "deleted": (_delete, "gap", 1),
    "reordered": (_reorder, "prev_hash", 0),
    "inserted": (_insert, "prev_hash", 1),
    "truncated": (_truncate, "head", -1),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_verify_finds_the_first_break(world: Archive, case: str):
    _grow(world)
    with world.sessions() as s:
        assert verify_chain(s).ok
    k = _last_id(world) - 3
    how, kind, offset = TAMPERING[case]
    with world.sessions() as s, s.begin():
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        how(s, k)
    with world.sessions() as s:
        report = verify_chain(s)
    assert not report.ok
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.event_id) == (kind, k + offset)
    assert report.first_break.message_vi and report.first_break.message_en
    # everything before the break was checked and found sound (the forged insert itself chains correctly)
    assert report.events_checked == report.last_event_id == (k if case == "inserted" else k - 1)


def test_the_trail_records_people_actions(sqlite_world: Archive):
    with sqlite_world.sessions() as s:
        actions = set(s.scalars(select(Event.action)))
        assert verify_chain(s).ok
    assert {"org.create", "user.create", "role.grant"} <= actions


# --- CLI ----------------------------------------------------------------------------------------------------------
def _cli_world(tmp_path: Path, db_url: str, **extra: str) -> tuple[dict[str, str], Archive]:
    a = make_archive(
        tmp_path, seed=seed_world, database_url=db_url, replicas=folder_replicas(tmp_path / "replicas")
    )
    return archive_env(a, **extra), a


def test_cli_verify_exit_status_and_report(tmp_path: Path, db_url: str):
    env, a = _cli_world(tmp_path, db_url)
    ok = run_cli("audit", "verify", env=env)
    assert "OK" in ok.stdout
    with a.sessions() as s, s.begin():
        _edit(s, 5)
    bad = run_cli("audit", "verify", env=env, check=False)
    assert bad.returncode == 1
    assert "event 5" in bad.stdout and "[hash]" in bad.stdout
    data = json.loads(run_cli("audit", "verify", "--json", env=env, check=False).stdout)
    assert data["ok"] is False and data["first_break"]["event_id"] == 5
    a.close()


# --- anchors with a real TSA ---------------------------------------------------------------------------------------
def test_anchor_is_timestamped_and_written_to_every_replica(tmp_path: Path, tsa: Tsa):
    a = make_archive(tmp_path, seed=seed_world, tsa_url=tsa.url, trust_roots=str(tsa.root_cert))
    head = _last_id(a)
    anchor = anchor_chain_head(a)
    assert anchor is not None and anchor.event_id == head
    assert anchor.key.startswith(ANCHOR_PREFIX) and anchor.key.endswith(f"-{head}.json")
    for store in a.replicas.stores:
        with store.get(anchor.key) as f:
            body = json.loads(f.read())
        assert body["event_id"] == head and base64.b64decode(body["token"])[:1] == b"\x30"  # DER
    with a.sessions() as s:
        assert s.scalar(select(AuditAnchor.key)) == anchor.key
        assert s.scalars(select(Event.action).order_by(Event.id.desc())).first() == "audit.anchor"
    report = verify(a)
    assert report.ok and report.anchors_checked == 3


def test_a_rewritten_chain_no_longer_matches_its_anchor(tmp_path: Path, tsa: Tsa):
    a = make_archive(tmp_path, seed=seed_world, tsa_url=tsa.url, trust_roots=str(tsa.root_cert))
    anchored = anchor_chain_head(a)
    assert anchored is not None
    _grow(a, 2)
    # a database administrator edits an old event and recomputes every hash and the head: the chain alone looks fine
    with a.sessions() as s, s.begin():
        s.execute(update(Event).where(Event.id == 3).values(detail={"forged": True}))
        prev = GENESIS
        for ev in s.scalars(select(Event).order_by(Event.id)).all():
            ev.prev_hash = prev
            ev.hash = compute_hash(prev, ev)
            prev = ev.hash
            s.flush()
        head = s.get(ChainHead, 1)
        head.last_hash = prev
    with a.sessions() as s:
        assert verify_chain(s).ok
    report = verify(a)
    assert not report.ok and report.first_break is None
    assert len(report.anchor_problems) == 3  # one per replica store
    assert all(
        p.event_id == anchored.event_id and "rewritten" in p.message_en for p in report.anchor_problems
    )


def test_a_forged_anchor_file_is_detected(tmp_path: Path, tsa: Tsa):
    a = make_archive(tmp_path, seed=seed_world, tsa_url=tsa.url, trust_roots=str(tsa.root_cert))
    anchor = anchor_chain_head(a)
    assert anchor is not None
    store = a.replicas.stores[1]
    body = json.loads(anchor.to_json())
    body["event_id"] = anchor.event_id - 1  # claims another event, keeps the token
    with a.sessions() as s:
        other = s.get(Event, anchor.event_id - 1)
        assert other is not None
        body["event_hash"] = other.hash
    store.corrupt(anchor.key, json.dumps(body).encode())  # type: ignore[attr-defined]
    report = verify(a)
    assert [p.where for p in report.anchor_problems] == [store.url]
    assert "timestamp" in report.anchor_problems[0].message_en


def test_anchor_command(tmp_path: Path, tsa: Tsa):
    env, a = _cli_world(tmp_path, f"sqlite:///{tmp_path / 'cli.sqlite3'}", HOSO_TSA_URL=tsa.url)
    out = run_cli("audit", "anchor", "--json", env=env)
    data = json.loads(out.stdout)
    assert data["event_id"] == _last_id(a) - 1  # the anchor itself is the newest event
    verified = run_cli("audit", "verify", env=env)
    assert "3 mốc neo / anchors" in verified.stdout
    a.close()


def test_anchor_without_a_tsa_is_a_clear_error(tmp_path: Path):
    from archive.errors import InvalidInput

    # in production there is no dev PKI TSA to fall back on
    a = make_archive(tmp_path, seed=None, environment="production")
    with pytest.raises(InvalidInput) as ei:
        anchor_chain_head(a)
    assert ei.value.code == "tsa_not_configured"
    a.close()


def test_unreachable_tsa_is_reported_not_a_traceback(tmp_path: Path):
    from archive.errors import ArchiveError

    a = make_archive(tmp_path, seed=seed_world, tsa_url=f"http://127.0.0.1:{free_port()}/tsa")
    with pytest.raises(ArchiveError) as ei:
        anchor_chain_head(a)
    assert ei.value.code == "tsa_unavailable" and ei.value.status == 503
    with a.sessions() as s:
        assert s.scalar(select(AuditAnchor.id)) is None
    a.close()


def test_cli_export_to_a_file_never_leaves_a_traceback_or_a_half_file(tmp_path: Path):
    """`hoso audit export --out`: an unwritable target is a bilingual error (exit 1) before anything is read; a good
    one gets the whole export under its name and no leftover .part file."""
    env = hoso_env(
        tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        replicas=["memory://a", "memory://b", "memory://c"],
    )
    run_cli("org", "add", "79", "--name", "Sở GDĐT", "--kind", "so", env=env)
    r = run_cli("audit", "export", "--out", str(tmp_path / "missing" / "x.csv"), env=env, check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "Không ghi được tệp" in r.stderr and "Cannot write" in r.stderr
    out = tmp_path / "trail.csv"
    run_cli("audit", "export", "--out", str(out), env=env)
    assert "org.create" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("trail")) == ["trail.csv"]
