"""Kill the process between copying and committing: no catalog row may point at missing content."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

from tests.factories import hoso_env, make_pdf
from tests.processes import run_cli


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    return hoso_env(tmp_path / "var", database_url=db_url, **extra)


def test_kill_between_copies_and_commit_leaves_only_harmless_orphans(tmp_path: Path, db_url: str):
    env = _env(tmp_path, db_url)
    run_cli("db", "upgrade", env=env)
    run_cli("org", "add", "T01", "--name", "Trường THCS Thử", "--kind", "truong", "--level", "THCS", env=env)
    pdf = make_pdf(tmp_path / "Học bạ 9A.pdf", pages=2, extra=b"crash")
    sha = hashlib.sha256(pdf.read_bytes()).hexdigest()
    args = ("ingest", str(pdf), "--school", "T01", "--type", "hoc-ba", "--year", "2024-2025", "--json")

    crashed = run_cli(*args, env=_env(tmp_path, db_url, HOSO_FAULT_INJECT="before-commit"), check=False)
    assert crashed.returncode == -signal.SIGKILL

    listed = json.loads(run_cli("documents", "list", "--json", env=env).stdout)
    assert listed["total"] == 0  # nothing committed
    orphans = [p for p in (tmp_path / "var" / "replicas").rglob(sha) if p.is_file()]
    assert len(orphans) == 3  # the copies were written and verified before the kill; they are harmless

    done = json.loads(run_cli(*args, env=env).stdout)
    assert done[0]["sha256"] == sha and done[0]["created"] is True
    doc_id = done[0]["id"]
    out = tmp_path / "back.pdf"
    run_cli("documents", "content", doc_id, "--out", str(out), env=env)
    assert out.read_bytes() == pdf.read_bytes()
    again = json.loads(run_cli(*args, env=env).stdout)
    assert again[0]["id"] == doc_id and again[0]["created"] is False


def test_kill_during_a_signature_leaves_the_document_signable(tmp_path: Path, db_url: str):
    """The killed write leaves an orphan manifest for version 2; the retry must replace it, not be blocked by it."""
    env = _env(tmp_path, db_url)
    run_cli("db", "upgrade", env=env)
    run_cli("org", "add", "T01", "--name", "Trường THPT Thử", "--kind", "truong", "--level", "THPT", env=env)
    pdf = make_pdf(tmp_path / "Sổ đăng bộ.pdf", extra=b"sign-crash")
    doc_id = json.loads(
        run_cli(
            "ingest",
            str(pdf),
            "--school",
            "T01",
            "--type",
            "khac",  # no signing chain: the server-held key may sign it at once
            "--year",
            "2024-2025",
            "--json",
            env=env,
        ).stdout
    )[0]["id"]
    sign = ("sign", doc_id, "--level", "B-B", "--json")
    crashed = run_cli(*sign, env=_env(tmp_path, db_url, HOSO_FAULT_INJECT="before-commit"), check=False)
    assert crashed.returncode == -signal.SIGKILL
    orphans = list((tmp_path / "var" / "replicas").rglob("000002.json"))
    assert len(orphans) == 3  # written to every replica, never committed
    assert json.loads(run_cli("documents", "get", doc_id, "--json", env=env).stdout)["version"] == 1

    signed = json.loads(run_cli(*sign, env=env).stdout)
    assert signed["version"] == 2 and signed["verdict"] in ("TOTAL_PASSED", "INDETERMINATE")
    doc = json.loads(run_cli("documents", "get", doc_id, "--json", env=env).stdout)
    v2 = doc["versions"][1]
    for orphan in orphans:  # every replica now holds the committed manifest, not the orphan
        assert hashlib.sha256(orphan.read_bytes()).hexdigest() == v2["manifest_sha256"]
