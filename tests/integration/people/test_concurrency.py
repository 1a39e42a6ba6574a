"""Parallel writers on one catalog (SQLite and PostgreSQL): the login throttle is decided atomically, and events
appended at the same time never collide and keep the chain whole (issue 8, finding 8)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select

from archive import accounts
from archive.context import Archive
from archive.events import record_event
from archive.models import Event
from tests.factories import archive_env, folder_replicas, make_archive, seed_world_with_passwords
from tests.integration.people.helpers import CountingHasher, client_for
from tests.processes import run_cli


def _in_parallel(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..n-1) on n threads released together, so they really race."""
    start = threading.Barrier(n)

    def run(i: int) -> Any:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _world(tmp_path: Path, db_url: str) -> tuple[Archive, dict[str, str]]:
    a = make_archive(
        tmp_path,
        seed=seed_world_with_passwords,
        database_url=db_url,
        replicas=folder_replicas(tmp_path / "replicas"),
    )
    return a, archive_env(a)


def _verify_cli(env: dict[str, str]) -> None:
    out = run_cli("audit", "verify", env=env)  # exit status 0 only when the chain is intact
    assert "OK" in out.stdout


def test_parallel_wrong_logins_check_at_most_the_limit(tmp_path: Path, db_url: str, monkeypatch: Any):
    a, env = _world(tmp_path, db_url)
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    app_client = client_for(a)
    with a.sessions() as s:
        before = s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0

    def attempt(i: int) -> tuple[int, str]:
        r = app_client.post("/api/v1/auth/login", json={"username": "gvbm", "password": f"sai-{i}"})
        return r.status_code, r.json().get("error", "")

    results = _in_parallel(30, attempt)
    limit = a.settings.login_max_failures
    assert {status for status, _ in results} <= {401, 429}, results  # no 500
    assert sum(1 for _, code in results if code == "invalid_credentials") <= limit
    with a.sessions() as s:
        new = list(s.scalars(select(Event).where(Event.id > before).order_by(Event.id)))
    failed = [e for e in new if e.action == "auth.login_failed"]
    throttled = [e for e in new if e.action == "auth.login_throttled"]
    assert len(failed) + len(throttled) == 30  # every attempt is in the trail
    assert 1 <= len(failed) <= limit
    assert counting.verified == len(failed) <= limit  # the password was checked only within the limit
    _verify_cli(env)
    a.close()


def test_parallel_event_appends_never_collide(tmp_path: Path, db_url: str):
    a, env = _world(tmp_path, db_url)
    with a.sessions() as s:
        before = s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
    n = 24

    def append(i: int) -> int:
        with a.sessions() as s, s.begin():
            # a read before the append, as real callers do: it must not pin a stale view of the chain head
            accounts.get_user(s, "gvbm")
            return record_event(s, "test.parallel", detail={"i": i}).id

    ids = _in_parallel(n, append)
    assert sorted(ids) == list(range(before + 1, before + n + 1))
    with a.sessions() as s:
        stored = list(s.scalars(select(Event).where(Event.action == "test.parallel").order_by(Event.id)))
    assert sorted(e.detail["i"] for e in stored) == list(range(n))
    _verify_cli(env)
    a.close()
