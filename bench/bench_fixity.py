"""Full-fixity throughput on three folder replicas, against plain hashlib over the same files in the same run.

    .venv/bin/python bench/bench_fixity.py [--files 256] [--size-mb 2] [--threads N] [--dir DIR] [--keep]

What is compared: `retention.fixity.full_run` (claims copies from a SQLite catalog in batches, reads every copy
through the FolderStore interface, SHA-256s it, records results) against `hashlib.file_digest` over the very same files
with a thread pool of the same size. Both use every core: hashlib releases the GIL while hashing.

Page cache: before every cold pass each object file is evicted with posix_fadvise(POSIX_FADV_DONTNEED) (works without
root, for clean pages; the store fsyncs every write, so all pages are clean). We also try /proc/sys/vm/drop_caches and
say whether it worked. Cold passes measure the disk; warm passes (files already cached) measure our overhead over
hashing itself, which is the number the ≥ 0.8 target is about.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive.context import Archive  # noqa: E402
from archive.models import ReplicaCopy, StoredObject  # noqa: E402
from archive.settings import Settings  # noqa: E402
from hoso.bootstrap import build_archive  # noqa: E402
from retention.fixity import full_run  # noqa: E402

MB = 1024 * 1024


def build(base: Path, files: int, size: int) -> tuple[Archive, list[Path]]:
    stores = [base / f"copy{i}" for i in (1, 2, 3)]
    settings = Settings(
        data_dir=base / "var",
        database_url=f"sqlite:///{base / 'catalog.sqlite3'}",
        replicas=[f"file://{p}" for p in stores],
        scheduler_enabled=False,
    )
    archive = build_archive(settings, migrate=True)
    paths: list[Path] = []
    with archive.sessions() as s, s.begin():
        for _ in range(files):
            data = os.urandom(size)
            sha = hashlib.sha256(data).hexdigest()
            key = f"content/{sha[:2]}/{sha}"
            obj = StoredObject(key=key, sha256=sha, size=size, kind="content")
            s.add(obj)
            for store, root in zip(archive.replicas.stores, stores, strict=True):
                store.put(key, io.BytesIO(data), sha)
                s.add(ReplicaCopy(object=obj, store_url=store.url, state="ok"))
                paths.append(root / key)
    return archive, paths


def evict(paths: list[Path]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def try_drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def hashlib_pass(paths: list[Path], threads: int) -> float:
    def one(p: Path) -> int:
        with open(p, "rb") as f:
            hashlib.file_digest(f, "sha256")
        return p.stat().st_size

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(one, paths))
    return total / (time.perf_counter() - start)


def fixity_pass(archive: Archive, threads: int) -> float:
    report = full_run(archive, threads=threads, alert=False)
    if not report.clean or report.copies_checked == 0:
        raise SystemExit(f"benchmark data damaged?! {report.to_dict()}")
    return report.throughput


def province(rate_per_worker: float) -> str:
    versions, copies, size, days = 5_000_000, 3, 2 * 1000 * 1000, 90
    total = versions * copies * size
    seconds = days * 86400
    need = total / seconds
    per_day = versions * copies / days
    workers = max(1, math.ceil(need / rate_per_worker)) if rate_per_worker else 0
    return "\n".join(
        [
            "Province: 5,000,000 versions x 3 copies x 2 MB, every copy fully re-hashed within 90 days",
            f"  data to re-hash per period: {total / 1e12:.0f} TB; copies per day: {per_day:,.0f} ({per_day / 86400:.1f}/s)",
            f"  sustained rate needed: {total:.3g} B / {seconds:,} s = {need / 1e6:.2f} MB/s",
            f"  one worker here (cold cache): {rate_per_worker / 1e6:.0f} MB/s -> {workers} worker(s), "
            f"busy {need / rate_per_worker * 100:.2f}% of the time",
            "  the limit in production is read bandwidth of the stores (disk, S3 egress), not hashing: at 50 MB/s per",
            f"  store one worker still needs only {need / 50e6 * 100:.0f}% of it; add workers only for stores far away.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=256, help="objects (each stored three times)")
    ap.add_argument("--size-mb", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="where to put the stores (default: a temp folder)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="hoso-bench-", dir=args.dir))
    size = int(args.size_mb * MB)
    print(f"writing {args.files} objects x 3 copies x {args.size_mb} MB into {base} ...", flush=True)
    archive, paths = build(base, args.files, size)
    total = len(paths) * size
    dropped = try_drop_caches()
    print(
        f"{len(paths)} copies, {total / 1e9:.2f} GB; {args.threads} threads on {os.cpu_count()} cores; "
        f"page cache: posix_fadvise(DONTNEED) per file before each cold pass"
        + ("; drop_caches also worked" if dropped else "; /proc/sys/vm/drop_caches not writable here")
    )
    rows = []
    try:
        for cache in ("cold", "warm"):
            for r in range(args.rounds):
                for name, fn in (
                    ("hashlib", lambda: hashlib_pass(paths, args.threads)),
                    ("fixity", lambda: fixity_pass(archive, args.threads)),
                ):
                    if cache == "cold":
                        evict(paths)
                    elif r == 0 and name == "hashlib":
                        hashlib_pass(paths, args.threads)  # warm the cache
                    rate = fn()
                    rows.append((cache, name, rate))
                    print(f"  {cache:4} round {r + 1} {name:8} {rate / 1e6:8.0f} MB/s", flush=True)
        print()
        cold_fix = 0.0
        for cache in ("cold", "warm"):
            base_rates = [rt for c, n, rt in rows if c == cache and n == "hashlib"]
            fix_rates = [rt for c, n, rt in rows if c == cache and n == "fixity"]
            ratios = sorted(f / h for f, h in zip(fix_rates, base_rates, strict=True))  # paired: same round
            if cache == "cold":
                cold_fix = statistics.median(fix_rates)
            print(
                f"{cache}: fixity median {statistics.median(fix_rates) / 1e6:.0f} MB/s, hashlib median "
                f"{statistics.median(base_rates) / 1e6:.0f} MB/s; per-round ratio median "
                f"{statistics.median(ratios):.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f}, {len(ratios)} rounds)"
            )
        print(
            f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)"
        )
        print()
        print(province(cold_fix))
    finally:
        archive.close()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
