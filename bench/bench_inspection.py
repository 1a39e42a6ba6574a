"""Inspection packages: the ZIP is streamed, never built — memory must stay flat however large the package.

1. The ZIP writer alone over a 2 GB package (16 files of 128 MB from memory, nothing on disk): throughput against a
   baseline that hashes the same bytes without any ZIP framing, and the process's peak resident memory growth
   (VmHWM, reset before each measurement through /proc/self/clear_refs) against a stated limit of 64 MB.
2. A real package through hoso: files in three folder replicas, `create_package` (reads each file once for its
   SHA-256 and CRC-32, seals the report) and `open_package` streamed to a hasher, against reading and hashing the same
   files twice with hashlib (the work any verified package must do: check, then send).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from retention.inspection_zip import ZipEntry, ZipLayout

MB = 1024 * 1024
LIMIT_MB = 64


def peak_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def synthetic(files: int, size: int) -> tuple[list[ZipEntry], bytes]:
    block = os.urandom(MB)
    crc = 0
    for _ in range(size // MB):
        crc = zlib.crc32(block, crc)

    def source() -> Iterator[bytes]:
        for _ in range(size // MB):
            yield block

    return [
        ZipEntry(f"T01_2024-2025_hoc-ba_10A{i}_Hoc-ba.pdf", size, crc, source) for i in range(files)
    ], block


def writer(files: int = 16, size: int = 128 * MB) -> None:
    entries, block = synthetic(files, size)
    total = files * size
    peak_reset()
    before = rss_mb()
    start = time.perf_counter()
    h = hashlib.sha256()
    for _ in range(total // MB):
        h.update(block)
    t_base = time.perf_counter() - start
    base_growth = peak_mb() - before
    layout = ZipLayout(entries, datetime(2026, 12, 3, tzinfo=UTC))
    peak_reset()
    before = rss_mb()
    start = time.perf_counter()
    h = hashlib.sha256()
    for chunk in layout.stream():
        h.update(chunk)
    t_zip = time.perf_counter() - start
    growth = peak_mb() - before
    print(f"ZIP writer, {layout.size / MB / 1024:.2f} GB package ({files} x {size // MB} MB):")
    print(f"  baseline (hash only) {total / MB / t_base:8.0f} MB/s, peak memory growth {base_growth:6.1f} MB")
    print(f"  streamed ZIP         {total / MB / t_zip:8.0f} MB/s, peak memory growth {growth:6.1f} MB")
    print(f"  speed ratio {t_base / t_zip:.2f}; memory growth {growth:.1f} MB (limit {LIMIT_MB} MB): "
          f"{'OK' if growth < LIMIT_MB else 'OVER'}")  # fmt: skip


def real(count: int = 4, size_mb: int = 50) -> None:
    from archive import accounts, orgs
    from archive.ingest import ingest_file
    from archive.settings import Settings
    from bench.pdfgen import make_big_pdf
    from hoso.bootstrap import build_archive
    from retention.inspection import Selection, create_package, open_package

    work = Path(tempfile.mkdtemp(prefix="hoso-bench-inspection-", dir=os.environ.get("HOSO_BENCH_DIR")))
    try:
        settings = Settings(
            data_dir=work / "var",
            replicas=[f"file://{work / 'var' / f'copy{i}'}" for i in range(3)],
            scheduler_enabled=False,
            max_upload_bytes=1024 * MB,
            base_url="http://127.0.0.1:18931",
            pdfa_normalise=False,  # the package is measured over the files as uploaded
        )
        archive = build_archive(settings, migrate=True)
        with archive.sessions() as s, s.begin():
            orgs.add_organisation(s, code="B01", name="Trường đo tốc độ", kind="truong", level="THPT")
        files = []
        for i in range(count):
            p = work / f"f{i}.pdf"
            make_big_pdf(p, size_mb * MB, random=True)
            files.append(p)
            ingest_file(archive, p, filename=p.name, school="B01", type_code="hoc-ba", year="2024-2025",
                        class_name=f"10A{i}")  # fmt: skip
        total = sum(p.stat().st_size for p in files)
        start = time.perf_counter()
        for _ in range(2):
            for p in files:
                with open(p, "rb") as f:
                    hashlib.file_digest(f, "sha256")
        t_base = time.perf_counter() - start
        with archive.sessions() as s:
            admin = accounts.get_user(s, "admin")
            s.expunge(admin)
        # a first package loads the dev PKI and its TSA (once per process; not what an inspector waits for)
        create_package(archive, selection=Selection.of(schools=["B01"]), actor=admin)
        peak_reset()
        before = rss_mb()
        start = time.perf_counter()
        pkg = create_package(archive, selection=Selection.of(schools=["B01"]), actor=admin)
        t_create = time.perf_counter() - start
        h = hashlib.sha256()
        for chunk in open_package(archive, pkg.id, actor=admin).chunks:
            h.update(chunk)
        t_pkg = time.perf_counter() - start
        growth = peak_mb() - before
        archive.close()
        print(f"real package of {count} x {size_mb} MB in three folder replicas (warm cache):")
        print(f"  baseline (read + SHA-256 twice)        {total / MB / t_base:6.0f} MB/s")
        print(f"  create_package (check + CRC + seal)    {t_create:6.2f} s")
        print(f"  create + stream (verified copy, twice) {total / MB / t_pkg:6.0f} MB/s")
        print(f"  ratio {t_base / t_pkg:.2f}; peak memory growth {growth:.1f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    writer()
    real()


if __name__ == "__main__":
    main()
