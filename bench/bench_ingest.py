"""Ingest throughput into three folder replicas vs. a baseline measured in the same run.

Baseline: the same bytes hashed with hashlib and written with fsync to three folders, one after another
(what any archive must at least do). hoso does more: it spools, sniffs, opens the PDF, writes the three copies in
parallel, re-reads each copy to verify it, writes and verifies a manifest, and commits the catalog row.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from archive import orgs
from archive.ingest import ingest_file
from archive.settings import Settings
from bench.bench_province import fresh_database
from bench.pdfgen import make_big_pdf
from hoso.bootstrap import build_archive

MB = 1024 * 1024


def baseline(files: list[Path], out: Path) -> float:
    dirs = [out / f"b{i}" for i in range(3)]
    for d in dirs:
        d.mkdir(parents=True)
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        hashlib.sha256(data).hexdigest()
        for d in dirs:
            with open(d / path.name, "wb") as o:
                o.write(data)
                o.flush()
                os.fsync(o.fileno())
    return time.perf_counter() - start


def hoso(files: list[Path], out: Path, *, normalise: bool = False, database_url: str | None = None) -> float:
    """`normalise`: unsigned PDFs rewritten to PDF/A-2b by Ghostscript (the default in production, measured apart
    below so the storage path keeps its own figure). `database_url`: the catalog (SQLite in `out` by default)."""
    settings = Settings(
        data_dir=out / "var",
        database_url=database_url,
        replicas=[f"file://{out / 'var' / f'copy{i}'}" for i in range(3)],
        scheduler_enabled=False,
        max_upload_bytes=1024 * MB,
        pdfa_normalise=normalise,
    )
    archive = build_archive(settings, migrate=True)
    with archive.sessions() as s, s.begin():
        orgs.add_organisation(s, code="B01", name="Trường đo tốc độ", kind="truong", level="THPT")
    start = time.perf_counter()
    for path in files:
        ingest_file(archive, path, filename=path.name, school="B01", type_code="khac", year="2024-2025")
    elapsed = time.perf_counter() - start
    archive.close()
    return elapsed


def run(size_mb: int, count: int, work: Path, database_url: str | None = None) -> dict[str, float]:
    src = work / f"src{size_mb}"
    src.mkdir(parents=True)
    files = []
    for i in range(count):
        p = src / f"f{i}.pdf"
        make_big_pdf(p, size_mb * MB, random=True, text=True)
        files.append(p)
    total = sum(p.stat().st_size for p in files) / MB
    t_base = baseline(files, work / f"base{size_mb}")
    t_hoso = hoso(files, work / f"hoso{size_mb}", database_url=database_url)
    return {"size_mb": size_mb, "files": count, "baseline_mbps": total / t_base, "hoso_mbps": total / t_hoso,
            "ratio": t_base / t_hoso}  # fmt: skip


def normalisation(work: Path, count: int) -> None:
    """The PDF/A-2b rewrite of unsigned PDFs (50-page, 1 MB registers with text and pictures), against the same
    uploads stored as they came, in the same run."""
    from bench.bench_signing import make_pdf

    src = work / "pdfa"
    src.mkdir()
    files = []
    for i in range(count):
        files.append(src / f"p{i}.pdf")
        files[-1].write_bytes(make_pdf())
    t_kept = hoso(files, work / "kept")
    t_pdfa = hoso(files, work / "pdfa-out", normalise=True)
    print(f"PDF/A-2b normalisation, {count} x 1 MB / 50 pages: {t_kept / count:.2f} s per file as uploaded, "
          f"{t_pdfa / count:.2f} s normalised (speed ratio {t_kept / t_pdfa:.2f})")  # fmt: skip


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-ingest-", dir=os.environ.get("HOSO_BENCH_DIR")))
    try:
        print("ingest into three folder replicas (ratio = hoso speed / baseline speed, higher is better)")
        print(
            f"{'catalog':>10} {'size':>6} {'files':>5} {'baseline MB/s':>14} {'hoso MB/s':>10} {'ratio':>6}"
        )
        for catalog in ("SQLite", "PostgreSQL"):
            for size, count in ((1, 30), (50, 4)):
                with fresh_database() if catalog == "PostgreSQL" else nullcontext((None, None)) as (url, _):
                    r = run(size, count, work / catalog, database_url=url)
                print(
                    f"{catalog:>10} {size:>4}MB {count:>5} {r['baseline_mbps']:>14.0f} {r['hoso_mbps']:>10.1f} "
                    f"{r['ratio']:>6.2f}"
                )
        normalisation(work, 10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
