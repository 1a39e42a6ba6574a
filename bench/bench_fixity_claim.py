"""Picking the next fixity batch on PostgreSQL: the same cost over a large catalog as over a small one (issue 15).

    .venv/bin/python bench/bench_fixity_claim.py [--sizes 150000,1500000] [--batch 500] [--reuse DATABASE]

For each size a fresh database gets that many copy rows (three per object; a tenth never checked, one in 500 damaged,
the rest checked within a day and verified within 90 days), then `retention.fixity.claim_statements` picks a batch
(FOR UPDATE SKIP LOCKED, rolled back) for a full and a light run. The figure is the ratio of the largest catalog's time
to the smallest's: ≈ 1 means O(batch). `--reuse` measures a kept catalog as well (bench_province.py at --scale 0.5
keeps 15.5 M copy rows with HOSO_BENCH_KEEP=1).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from archive.db import utcnow  # noqa: E402
from archive.settings import Settings  # noqa: E402
from bench.bench_province import catalog_counts, fresh_database, postgres_reachable  # noqa: E402
from hoso.bootstrap import build_archive  # noqa: E402
from retention.fixity import claim_statements  # noqa: E402

FILL = [
    """INSERT INTO stored_objects (key, sha256, size, kind, created_at)
       SELECT 'content/' || g, md5(g::text) || md5(g::text), 1, 'content', now() FROM generate_series(1, %(objects)s) g""",
    """INSERT INTO replica_copies (object_id, store_url, state, checked_at, verified_at, detail)
       SELECT o.id, s, CASE WHEN o.id %% 500 = 0 THEN 'corrupt' ELSE 'ok' END,
              CASE WHEN o.id %% 10 = 0 THEN NULL ELSE now() - (o.id %% 24) * interval '1 hour' END,
              CASE WHEN o.id %% 10 = 0 THEN NULL ELSE now() - (o.id %% 90) * interval '1 day' END, ''
       FROM stored_objects o CROSS JOIN unnest(ARRAY['file:///a', 'file:///b', 'file:///c']) s""",
    "ANALYZE",
]


def claim_ms(data: Path, url: str, batch: int, samples: int) -> dict[str, float]:
    settings = Settings(
        data_dir=data,
        database_url=url,
        replicas=["memory://c1"],
        scheduler_enabled=False,
    )
    archive = build_archive(settings, migrate=True)
    started = utcnow() - timedelta(hours=12)  # a run that began 12 h ago: every part has due copies
    out = {}
    try:
        for kind in ("full", "light"):
            times = []
            for _ in range(samples + 1):  # the first warms the caches
                with archive.sessions() as s, s.begin():
                    start = time.perf_counter()
                    rows: list[object] = []
                    for stmt in claim_statements(kind, started):  # type: ignore[arg-type]
                        rows += s.execute(stmt.limit(batch - len(rows))).all()
                        if len(rows) == batch:
                            break
                    times.append((time.perf_counter() - start) * 1000)
                    s.rollback()
            out[kind] = statistics.median(times[1:])
    finally:
        archive.close()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="150000,1500000", help="copy rows per catalog, comma-separated")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--samples", type=int, default=15)
    ap.add_argument("--reuse", metavar="DATABASE", help="also measure this kept catalog")
    args = ap.parse_args(argv)
    if not postgres_reachable():
        return
    results: list[tuple[int, dict[str, float]]] = []
    data = Path(
        tempfile.mkdtemp(prefix="hoso-bench-claim-")
    )  # the app's folder: the copies are memory:// rows
    try:
        for size in (int(x) for x in args.sizes.split(",")):
            with fresh_database() as (url, dsn):
                build_archive(
                    Settings(data_dir=data, database_url=url, scheduler_enabled=False), migrate=True
                ).close()
                start = time.perf_counter()
                with psycopg.connect(dsn, autocommit=True) as conn:
                    for sql in FILL:
                        conn.execute(sql, {"objects": max(1, size // 3)})  # type: ignore[arg-type]
                print(f"{size:,} copy rows written in {time.perf_counter() - start:.1f} s")
                copies = catalog_counts(dsn)["replica_copies"]
                results.append((copies, claim_ms(data, url, args.batch, args.samples)))
        if args.reuse:
            with fresh_database(args.reuse) as (url, dsn):
                results.append(
                    (catalog_counts(dsn)["replica_copies"], claim_ms(data, url, args.batch, args.samples))
                )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    results.sort()
    print(f"\n{'copy rows':>12} {'full batch':>11} {'light batch':>12}   (batch of {args.batch}, median)")
    for copies, ms in results:
        print(f"{copies:12,} {ms['full']:9.1f}ms {ms['light']:10.1f}ms")
    (small, a), (large, b) = results[0], results[-1]
    print(
        f"ratio {large:,} / {small:,} copies: full {b['full'] / a['full']:.2f}×, light {b['light'] / a['light']:.2f}×"
        f" (limit: ≈ 1, i.e. O(batch) — the catalog is {large / small:.0f}× larger)"
    )


if __name__ == "__main__":
    main()
