"""`hoso fixity run` / `status` through the real command line, and the alert e-mail at a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.context import Archive
from storage import content_key
from tests.factories import archive_env
from tests.mailbox import smtp_server
from tests.processes import run_cli

from .conftest import COPIES_PER_UPLOAD, folder_archive, ingest_pdf, store_path


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


def env_for(a: Archive, **extra: str) -> dict[str, str]:
    return archive_env(a, **{"HOSO_FIXITY_RETRIES": "0", **extra})


def test_unrepairable_damage_exits_non_zero_lists_the_files_and_mails_the_admins(tmp_path: Path, smtp):
    inbox, port = smtp
    a = folder_archive(tmp_path)
    try:
        r = ingest_pdf(a, tmp_path, name="Sổ đăng bộ 2024.pdf")
        key = content_key(r.version.sha256)
    finally:
        a.close()
    env = env_for(
        a,
        HOSO_SMTP_HOST="127.0.0.1",
        HOSO_SMTP_PORT=str(port),
        HOSO_ALERT_EMAILS="hieutruong@thpt-nmk.edu.vn,quantri@thpt-nmk.edu.vn",
    )
    ok = run_cli("fixity", "run", "--full", "--json", env=env)
    assert (
        json.loads(ok.stdout)["clean"] is True
        and json.loads(ok.stdout)["copies_checked"] == COPIES_PER_UPLOAD
    )
    assert inbox.messages == []  # nothing to report, nothing sent

    for i in range(3):
        store_path(a, i, key).unlink()
    bad = run_cli("fixity", "run", "--json", env=env, check=False)
    assert bad.returncode == 1, bad.stderr
    data = json.loads(bad.stdout)
    assert data["clean"] is False and data["remaining_damage"] == 3
    faulty = data["unrepairable"]
    assert sorted(d["store"] for d in faulty) == sorted(a.settings.replica_urls)
    assert {d["key"] for d in faulty} == {key} and {d["state"] for d in faulty} == {"missing"}
    assert faulty[0]["documents"][0]["filename"] == "Sổ đăng bộ 2024.pdf"
    assert faulty[0]["documents"][0]["document_id"] == r.document.id

    inbox.wait()
    assert len(inbox.messages) == 1
    rcpts, msg = inbox.messages[0]
    assert rcpts == ["hieutruong@thpt-nmk.edu.vn", "quantri@thpt-nmk.edu.vn"]
    assert "3" in msg["Subject"] and "hoso" in msg["Subject"]
    body = msg.get_payload(decode=True).decode("utf-8")
    assert key in body and "Sổ đăng bộ 2024.pdf" in body and r.document.id in body

    status = run_cli("fixity", "status", "--json", env=env, check=False)
    assert status.returncode == 1
    assert json.loads(status.stdout)["by_state"] == {"missing": 3, "ok": COPIES_PER_UPLOAD - 3}

    human = run_cli("fixity", "run", env=env, check=False)  # still damaged: still non-zero, readable text
    assert human.returncode == 1 and "UNREPAIRED" in human.stdout


def test_repairable_damage_exits_zero_after_repair(tmp_path: Path):
    a = folder_archive(tmp_path)
    try:
        r = ingest_pdf(a, tmp_path)
        key = content_key(r.version.sha256)
    finally:
        a.close()
    store_path(a, 1, key).unlink()
    env = env_for(a)
    done = run_cli("fixity", "run", "--json", env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert len(data["repairs"]) == 1 and data["repairs"][0]["state"] == "missing"
    assert store_path(a, 1, key).exists()
    status = run_cli("fixity", "status", env=env)
    assert f"ok: {COPIES_PER_UPLOAD}" in status.stdout
