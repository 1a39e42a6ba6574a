"""deploy/pg-backup.py: a pg_dump of the catalog lands, verified, in every replica store, and restores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from archive.ingest import ingest_file
from tests.conftest import PG_ADMIN
from tests.factories import folder_replicas, make_archive, make_pdf

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "pg-backup.py"
pytestmark = pytest.mark.postgres


def run_backup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def test_backup_reaches_every_store_and_restores(pg_url: str, tmp_path: Path):
    replicas = folder_replicas(tmp_path / "stores")
    a = make_archive(tmp_path, database_url=pg_url, replicas=replicas)
    pdf = make_pdf(tmp_path / "Sổ đăng bộ.pdf", pages=1, extra=b"backup")
    doc = ingest_file(a, pdf, filename=pdf.name, school="T01", type_code="so-dang-bo", year="2024-2025")
    a.close()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(SCRIPT.parents[1]),
        "HOSO_DATA_DIR": str(tmp_path / "var"),
        "HOSO_DATABASE_URL": pg_url,
        "HOSO_REPLICAS": ",".join(replicas),
    }
    done = run_backup(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": ok") == 3
    dumps = [sorted(Path(r.removeprefix("file://")).glob("backups/postgresql/*.dump")) for r in replicas]
    assert [len(d) for d in dumps] == [1, 1, 1]
    assert len({d[0].read_bytes() for d in dumps}) == 1  # the same bytes in every store
    assert "PGPASSWORD" not in done.stdout and "postgres@" not in done.stdout

    # restore into an empty database: the document is there
    target = f"hoso_restore_{tmp_path.name[-8:].replace('-', '_').lower()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target}"')
    try:
        dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + target
        restore = subprocess.run(
            ["pg_restore", "--no-owner", "--dbname", dsn, str(dumps[0][0])], capture_output=True, text=True
        )
        assert restore.returncode == 0, restore.stderr
        with psycopg.connect(dsn) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM documents")]
        assert ids == [doc.document.id]
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_backup_fails_loudly_when_a_store_cannot_take_it(pg_url: str, tmp_path: Path):
    make_archive(tmp_path, database_url=pg_url).close()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    replicas = [*folder_replicas(tmp_path / "stores", 2), blocked.as_uri()]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(SCRIPT.parents[1]),
        "HOSO_DATA_DIR": str(tmp_path / "var"),
        "HOSO_DATABASE_URL": pg_url,
        "HOSO_REPLICAS": ",".join(replicas),
        "HOSO_MIN_REPLICAS": "2",
    }
    done = run_backup(env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count(": ok") == 2 and "copy3: unreachable" in done.stdout
