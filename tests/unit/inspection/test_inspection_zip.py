"""The deterministic stored ZIP: Python's zipfile and Info-ZIP read it, every byte range equals the same slice of
the whole, and a file source is read only when a range reaches into it."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retention.inspection_zip import ZipEntry, ZipLayout

MOMENT = datetime(2026, 12, 3, 9, 15, 42, tzinfo=UTC)


def entry(name: str, data: bytes, opened: list[str] | None = None, chunk: int = 1000) -> ZipEntry:
    def source() -> Iterator[bytes]:
        if opened is not None:
            opened.append(name)
        for i in range(0, len(data), chunk):
            yield data[i : i + chunk]

    return ZipEntry(name, len(data), zlib.crc32(data), source)


FILES = {
    "T01_2024-2025_hoc-ba_10A1_Hoc-ba-lop-10A1.pdf": os.urandom(12_345),
    "T01_2024-2025_so-dang-bo_So-dang-bo.pdf": os.urandom(3_000),
    "empty.txt": b"",
    "SHA256SUMS": b"abc  x\n",
}


def whole(layout: ZipLayout) -> bytes:
    return b"".join(layout.stream())


@pytest.mark.parametrize("force_zip64", [False, True])
def test_zipfile_reads_every_entry_and_its_crc(force_zip64: bool) -> None:
    layout = ZipLayout([entry(n, d) for n, d in FILES.items()], MOMENT, force_zip64=force_zip64)
    data = whole(layout)
    assert len(data) == layout.size
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None  # every CRC checked
        assert z.namelist() == list(FILES)
        for name, content in FILES.items():
            assert z.read(name) == content
            info = z.getinfo(name)
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (2026, 12, 3, 9, 15, 42)
    assert data[layout.offset_of("SHA256SUMS") :].startswith(b"abc  x\n")


def test_info_zip_accepts_it(tmp_path: Path) -> None:
    if not Path("/usr/bin/unzip").exists():
        pytest.skip("unzip not installed")
    out = tmp_path / "p.zip"
    out.write_bytes(whole(ZipLayout([entry(n, d) for n, d in FILES.items()], MOMENT)))
    result = subprocess.run(["unzip", "-t", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout


def test_same_listing_same_bytes() -> None:
    a = whole(ZipLayout([entry(n, d) for n, d in FILES.items()], MOMENT))
    b = whole(ZipLayout([entry(n, d, chunk=7) for n, d in FILES.items()], MOMENT))
    assert a == b


def test_every_range_is_the_slice_of_the_whole() -> None:
    layout = ZipLayout([entry(n, d, chunk=333) for n, d in FILES.items()], MOMENT)
    full = whole(layout)
    cuts = [0, 1, 29, 30, 31, 100, 12_345, 12_400, 15_000, layout.size - 23, layout.size - 1]
    for start in cuts:
        for end in (start, start + 1, start + 500, layout.size - 1, layout.size + 10):
            got = b"".join(layout.stream(start, end))
            assert got == full[start : end + 1], (start, end)


def test_a_range_opens_only_the_files_it_reaches() -> None:
    opened: list[str] = []
    layout = ZipLayout([entry(n, d, opened) for n, d in FILES.items()], MOMENT)
    second = "T01_2024-2025_so-dang-bo_So-dang-bo.pdf"
    start = layout.offset_of(second) + 10
    assert b"".join(layout.stream(start, start + 99)) == FILES[second][10:110]
    assert opened == [second]


def test_a_source_shorter_than_promised_is_an_error() -> None:
    bad = ZipEntry("x.pdf", 100, 0, lambda: iter([b"only 12 byte"]))
    with pytest.raises(OSError, match="the listing says 100"):
        whole(ZipLayout([bad], MOMENT))


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ZipLayout([entry("a", b"1"), entry("a", b"2")], MOMENT)
