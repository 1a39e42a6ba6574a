#!/usr/bin/env python3
"""Back up the PostgreSQL catalog into every replica store (run daily: hoso-pg-backup.timer, or the compose job).

`pg_dump --format=custom` into the data dir's spool, then the file is written to every store under
`backups/postgresql/<UTC time>-<sha256 prefix>.dump` and each copy is read back and hashed (the same verified write
as documents). The password goes to pg_dump through PGPASSWORD, never on its command line. Exit status 0 when every
store holds a verified copy, 1 when not, 2 when the dump failed. Restore: deploy/README.md, "Restore".

Settings are hoso's own (HOSO_DATABASE_URL, HOSO_REPLICAS, HOSO_DATA_DIR; credentials for S3 as for hoso).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from archive.settings import Settings
from hoso.bootstrap import opened
from storage import NotEnoughReplicas

PREFIX = "backups/postgresql/"


def pg_dump(database_url: str, out: Path) -> None:
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit(f"pg-backup: the catalog is not PostgreSQL ({url.drivername})")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    args = ["pg_dump", "--format=custom", "--no-owner", "--file", str(out), "--dbname", str(url.database)]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"pg-backup: pg_dump failed: {done.stderr.strip()}", file=sys.stderr)
        raise SystemExit(2)


def main() -> int:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pg-backup-", dir=settings.data_dir) as tmp:
        dump = Path(tmp) / "catalog.dump"
        pg_dump(settings.resolved_database_url, dump)
        size = dump.stat().st_size
        with dump.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        key = f"{PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{digest[:12]}.dump"
        with opened(settings, migrate=False) as archive:
            try:
                results = archive.replicas.put_file(key, dump, digest)
            except NotEnoughReplicas as exc:  # fewer than HOSO_MIN_REPLICAS: report every store all the same
                results = exc.results
    print(f"pg-backup: {key}  {size} bytes  sha256 {digest}")
    for store, r in zip(settings.replica_urls, results, strict=True):
        print(f"  copy{settings.replica_urls.index(store) + 1}: {r.state} {r.detail}".rstrip())
    # a backup counts when every store holds a verified copy, whatever HOSO_MIN_REPLICAS allows for uploads
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
