"""Ingest throughput into three folder replicas vs. a baseline measured in the same run.

Baseline: the same bytes hashed with hashlib and written with fsync to three folders, one after another
(what any archive must at least do). hoso does more: it sniffs, inspects the PDF in a worker of the inspection pool
(which then reads its text with pdftotext while the copies are written), writes the three copies in parallel,
re-reads each copy to verify it, writes and verifies a manifest, and commits the catalog rows. The "batch" rows store
the same files through BatchIngest.store_each (the web and API batch uploads, `hoso ingest`), which commits the rows
of up to sixteen in one transaction. Limit (issue 15): 1 MB files at >= 0.5 x the baseline. The "+ text" column is
the baseline with each file's text read by pdftotext beside it, and "ceiling" its ratio to the baseline: as far as an
ingest that reads a PDF's text before it answers (the search index, the lesson plan's check) could go here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from archive import orgs
from archive.batch_files import BatchFile
from archive.batch_ingest import STORED, BatchIngest
from archive.ingest import ingest_file
from archive.settings import Settings
from bench.bench_province import fresh_database
from bench.pdfgen import make_big_pdf
from hoso.bootstrap import build_archive

MB = 1024 * 1024
LIMIT = 0.5  # hoso speed / baseline speed for 1 MB files (issue 15)


def baseline(files: list[Path], out: Path, *, text: bool = False) -> float:
    """Hash + three fsync'd writes per file. `text`: with the file's text read by pdftotext, started before the hash
    and the writes and read after them, without hoso's limits or process hops: the most that any ingest which reads a
    PDF's text before it answers could overlap, its ceiling on this machine."""
    dirs = [out / f"b{i}" for i in range(3)]
    for d in dirs:
        d.mkdir(parents=True)
    start = time.perf_counter()
    for path in files:
        reader = (
            subprocess.Popen(["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"], stdout=subprocess.PIPE)
            if text
            else None
        )
        with open(path, "rb") as f:
            data = f.read()
        hashlib.sha256(data).hexdigest()
        for d in dirs:
            with open(d / path.name, "wb") as o:
                o.write(data)
                o.flush()
                os.fsync(o.fileno())
        if reader is not None:
            out_text, _ = reader.communicate()
            assert reader.returncode == 0 and out_text.strip(), path
    return time.perf_counter() - start


def hoso(
    files: list[Path],
    out: Path,
    *,
    normalise: bool = False,
    database_url: str | None = None,
    batch: bool = False,
) -> float:
    """`normalise`: unsigned PDFs rewritten to PDF/A-2b by Ghostscript (the default in production, measured apart
    below so the storage path keeps its own figure). `database_url`: the catalog (SQLite in `out` by default).
    `batch`: the files as one batch upload (BatchIngest.store_each) instead of one upload each."""
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
    # the first upload starts the inspection workers (a server has them running): not part of what is measured
    warm = out / "warm.pdf"
    make_big_pdf(warm, 1024, random=True, text=True)
    ingest_file(archive, warm, filename=warm.name, school="B01", type_code="khac", year="2024-2025")
    start = time.perf_counter()
    if batch:
        group = BatchIngest(archive, "B01", "2024-2025", None, check_rights=False)
        items = [BatchFile(p.name, p, str(p)) for p in files]
        outcomes = list(group.store_each(items, lambda item: ("khac", None)))
        assert all(o.result == STORED for o in outcomes), outcomes
    else:
        for path in files:
            ingest_file(archive, path, filename=path.name, school="B01", type_code="khac", year="2024-2025")
    elapsed = time.perf_counter() - start
    archive.close()
    return elapsed


def run(
    size_mb: int, count: int, work: Path, database_url: str | None = None, *, batch: bool = False
) -> dict[str, float]:
    src = work / f"src{size_mb}"
    src.mkdir(parents=True)
    files = []
    for i in range(count):
        p = src / f"f{i}.pdf"
        make_big_pdf(p, size_mb * MB, random=True, text=True)
        files.append(p)
    total = sum(p.stat().st_size for p in files) / MB
    # Each side starts with nothing left to write back (the sources just generated, the other side's files): a journal
    # commit that must first flush someone else's dirty pages made the baseline swing fourfold between runs. And the
    # baseline runs before and after hoso, their mean taken: on a disk mounted with `discard`, the first fsyncs of a
    # process, with no freed blocks yet to trim, were three times as fast as any later ones.
    os.sync()
    t_before = baseline(files, work / f"base{size_mb}")
    os.sync()
    t_hoso = hoso(files, work / f"hoso{size_mb}", database_url=database_url, batch=batch)
    os.sync()
    t_base = (t_before + baseline(files, work / f"base{size_mb}-after")) / 2
    os.sync()
    t_text = baseline(files, work / f"text{size_mb}", text=True)
    return {"size_mb": size_mb, "files": count, "baseline_mbps": total / t_base, "hoso_mbps": total / t_hoso,
            "ratio": t_base / t_hoso, "text_mbps": total / t_text, "ceiling": t_base / t_text}  # fmt: skip


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
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print(
            f"{'catalog':>10} {'how':>7} {'size':>6} {'files':>5} {'baseline MB/s':>14} {'hoso MB/s':>10} "
            f"{'ratio':>6}  {'limit':<7} {'+ text MB/s':>11} {'ceiling':>7}"
        )
        for catalog in ("SQLite", "PostgreSQL"):
            for size, count, batch in ((1, 30, False), (1, 30, True), (50, 4, False)):
                how = "batch" if batch else "single"
                with fresh_database() if catalog == "PostgreSQL" else nullcontext((None, None)) as (url, _):
                    r = run(size, count, work / catalog / how, database_url=url, batch=batch)
                limit = f"{'>=' if r['ratio'] >= LIMIT else '< '} {LIMIT}" if size == 1 else ""
                print(
                    f"{catalog:>10} {how:>7} {size:>4}MB {count:>5} {r['baseline_mbps']:>14.0f} "
                    f"{r['hoso_mbps']:>10.1f} {r['ratio']:>6.2f}  {limit:<7} {r['text_mbps']:>11.0f} "
                    f"{r['ceiling']:>7.2f}"
                )
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        normalisation(work, 10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
