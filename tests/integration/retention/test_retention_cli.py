"""The `hoso retention …` and `hoso catalog …` commands, run as a user would (subprocess, folder replicas)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import folder_replicas, hoso_env, make_pdf
from tests.processes import run_cli

ON = "2026-03-01"


def test_disposal_and_rebuild_through_the_cli(tmp_path: Path):
    replicas = folder_replicas(tmp_path / "stores")
    db = tmp_path / "var" / "hoso.sqlite3"
    env = hoso_env(tmp_path / "var", database_url=f"sqlite:///{db}", replicas=replicas)
    run_cli("org", "add", "79", "--name", "Sở GDĐT", "--kind", "so", env=env)
    run_cli(
        "org",
        "add",
        "T01",
        "--name",
        "THPT Thử",
        "--kind",
        "truong",
        "--level",
        "THPT",
        "--parent",
        "79",
        env=env,
    )
    old = make_pdf(tmp_path / "Sổ ghi đầu bài 12A1.pdf", text="Sổ ghi đầu bài 12A1")
    new = make_pdf(tmp_path / "Học bạ.pdf", text="Học bạ")
    ingest = lambda p, t, y: json.loads(  # noqa: E731
        run_cli("ingest", str(p), "--school", "T01", "--type", t, "--year", y, "--json", env=env).stdout
    )[0]["id"]
    old_id = ingest(old, "so-ghi-dau-bai", "2018-2019")
    new_id = ingest(new, "hoc-ba", "2024-2025")

    status = json.loads(run_cli("retention", "status", new_id, "--on", ON, "--json", env=env).stdout)
    assert status["blockers"] == ["unverified"] and status["retention"] == "permanent"
    bad = run_cli("retention", "confirm", "hoc-ba", "--years", "5", "--permanent", "--source", "x", "--user", "admin",
                  env=env, check=False)  # fmt: skip
    assert bad.returncode == 1 and "exactly one" in bad.stderr and "Traceback" not in bad.stderr

    due = json.loads(run_cli("retention", "due", "--on", ON, "--json", env=env).stdout)
    assert [d["document_id"] for d in due] == [old_id]
    assert due[0]["simulation"] is True and due[0]["as_of"] == ON
    # disposal itself is on the server's date (the 2018-2019 logbook is really due): --on is refused
    batch = json.loads(
        run_cli("retention", "propose", "--school", "T01", "--user", "admin", "--json", env=env).stdout
    )
    assert batch["status"] == "proposed" and [i["document_id"] for i in batch["items"]] == [old_id]
    run_cli("retention", "approve", str(batch["id"]), "--user", "admin", env=env)
    done = run_cli("retention", "execute", str(batch["id"]), "--json", env=env)
    result = json.loads(done.stdout)
    # the CLI signs the disposal record with the school seal (the dev PKI's, on the embedded defaults)
    assert result["status"] == "executed" and result["record_signed"] is True

    run_cli("catalog", "export-metadata", "--day", ON, env=env)
    refused = run_cli("catalog", "rebuild", "--from", replicas[1], env=env, check=False)
    assert refused.returncode == 1 and "catalog_not_empty" in refused.stderr

    for p in db.parent.glob("hoso.sqlite3*"):
        p.unlink()
    rebuilt = json.loads(run_cli("catalog", "rebuild", "--from", replicas[1], "--json", env=env).stdout)
    assert rebuilt["ok"] and rebuilt["exports"] == 1
    # the disposed document's manifests are gone; the live one and the disposal record come back
    assert rebuilt["documents"] == 2
    docs = json.loads(run_cli("documents", "list", "--json", env=env).stdout)["items"]
    assert {d["id"] for d in docs} == {new_id, result["record_document_id"]}
    orgs = json.loads(run_cli("org", "list", "--json", env=env).stdout)
    assert {o["code"]: o["parent"] for o in orgs} == {"79": None, "T01": "79"}


def test_bad_input_gets_a_bilingual_error_not_a_traceback(tmp_path: Path):
    env = hoso_env(
        tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'var' / 'hoso.sqlite3'}",
        replicas=folder_replicas(tmp_path / "stores"),
    )
    cases = [
        (("retention", "approve", "999", "--user", "admin"), "No disposal batch 999"),
        (("retention", "execute", "999"), "No disposal batch 999"),
        (("retention", "hold", "release", "999", "--user", "admin"), "No legal hold 999"),
        (("retention", "due", "--on", "2026-13-01"), "Invalid date"),
        (("catalog", "rebuild", "--from", "ftp://backup.example/hoso"), "Cannot open store"),
    ]
    for args, message in cases:
        done = run_cli(*args, env=env, check=False)
        out = done.stdout + done.stderr
        assert done.returncode != 0, (args, out)
        assert message in out and " / " in out, (args, out)
        assert "Traceback" not in out, (args, out)
