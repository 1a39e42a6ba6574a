"""`hoso fixity reconcile` after a real crash between the copies and the commit (HOSO_FAULT_INJECT=before-commit)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from pathlib import Path

from storage import content_key
from tests.factories import folder_replicas, hoso_env, make_pdf
from tests.processes import run_cli


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    return hoso_env(
        tmp_path / "var", database_url=db_url, replicas=folder_replicas(tmp_path / "stores"), **extra
    )


def _age(path: Path, seconds: float) -> None:
    """Make a folder copy look written `seconds` ago (past the reconcile grace period)."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def _reconcile(env: dict[str, str]) -> dict:
    done = run_cli("fixity", "reconcile", "--json", env=env, check=False)
    assert done.returncode == 0, done.stderr  # a report, whatever it found
    return json.loads(done.stdout)


def test_reconcile_reports_the_orphans_of_a_killed_ingest_and_nothing_else(tmp_path: Path, db_url: str):
    env = _env(tmp_path, db_url)
    stores = [Path(u.removeprefix("file://")) for u in folder_replicas(tmp_path / "stores")]
    run_cli("db", "upgrade", env=env)
    run_cli("org", "add", "T01", "--name", "Trường THCS Thử", "--kind", "truong", "--level", "THCS", env=env)
    common = ("--school", "T01", "--type", "hoc-ba", "--year", "2024-2025", "--json")
    kept_pdf = make_pdf(tmp_path / "Học bạ 9A.pdf", extra=b"committed")
    kept = json.loads(run_cli("ingest", str(kept_pdf), *common, env=env).stdout)[0]

    lost_pdf = make_pdf(tmp_path / "Học bạ 9B.pdf", extra=b"killed")
    lost_sha = hashlib.sha256(lost_pdf.read_bytes()).hexdigest()
    crashed = run_cli(
        "ingest",
        str(lost_pdf),
        *common,
        env=_env(tmp_path, db_url, HOSO_FAULT_INJECT="before-commit"),
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL
    orphan_manifests = sorted(stores[0].joinpath("manifests").rglob("*.json"))
    assert len(orphan_manifests) == 2  # the committed one and the killed one
    lost_mkey = next(
        p.relative_to(stores[0]).as_posix() for p in orphan_manifests if kept["id"] not in p.as_posix()
    )
    orphan_keys = {content_key(lost_sha), lost_mkey}

    # just written: an ingest could still be about to commit them, so they are not reported yet
    young = _reconcile(env)
    assert young["orphans"] == 0 and young["missing"] == 0
    assert [s["young"] for s in young["stores"]] == [2, 2, 2]

    for root in stores:  # everything, committed or not, now looks two hours old
        for p in root.rglob("*"):
            if p.is_file() and ".hoso-store" not in p.parts:
                _age(p, 2 * 3600)
    report = _reconcile(env)
    assert report["catalog_objects"] == 2  # the committed document's content and manifest
    assert len(report["stores"]) == 3
    for s in report["stores"]:
        assert s["error"] is None and s["missing"] == 0 and s["listed"] == 4
        assert {o["key"] for o in s["orphan_keys"]} == orphan_keys  # never the catalogued ones
        sizes = {o["key"]: o["size"] for o in s["orphan_keys"]}
        assert sizes[content_key(lost_sha)] == lost_pdf.stat().st_size
        assert all(o["age_seconds"] >= 2 * 3600 - 60 for o in s["orphan_keys"])
        assert s["orphan_bytes"] == sum(sizes.values())
    for root in stores:  # a report: nothing was deleted
        assert all((root / k).is_file() for k in orphan_keys)

    # a catalogued copy gone from one store is counted there (fixity repairs it), not reported as anything else
    (stores[1] / content_key(kept["sha256"])).unlink()
    again = _reconcile(env)
    assert [s["missing"] for s in again["stores"]] == [0, 1, 0]
    assert again["orphans"] == 6

    text = run_cli("fixity", "reconcile", env=env)
    assert lost_mkey in text.stdout and "orphans: 6" in text.stdout
