"""The files of a batch: loose files, every file of a folder, or the entries of a ZIP (a class's exports), each handed
over as a file on disk with the name it will be stored under.

A ZIP is untrusted input: its declared entry count is read before zipfile builds its directory, each entry is copied
out with a size limit (what it says of its own size is not believed), an entry inflating more than MAX_RATIO times its
compressed size is refused (a ZIP bomb: a few kilobytes that would fill the spool folder), the entries together may
not pass MAX_TOTAL_BYTES, only the entry's base name is kept (no path leaves the spool folder), and folders, hidden
files and macOS resource forks are skipped. The CLI (`hoso ingest`) and the web batch upload both read ZIPs here.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .bounded import zip_entry_count
from .errors import IngestRefused
from .ingest import too_large

MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 4 * 1024**3  # a class's exports are megabytes; a whole school's a few hundred
MAX_RATIO = 200  # PDFs barely compress (their streams are compressed already); text exports reach 10-20
RATIO_FLOOR = 1024 * 1024  # below this an entry is never called a bomb, whatever its ratio
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BatchFile:
    name: str  # the name the file is stored and reported under
    path: Path
    source: str  # where it came from: the path, or "archive.zip:entry"
    refused: IngestRefused | None = (
        None  # an entry too large to copy out: reported with the others, not fatal
    )


def _skipped(name: str) -> bool:
    base = PurePosixPath(name).name
    return not base or base.startswith(".") or "__MACOSX" in name.split("/")


def list_inputs(paths: list[Path]) -> list[Path]:
    """Loose files as given, a folder's files (sorted, recursively, hidden ones skipped), ZIPs as themselves."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and not _skipped(str(q.relative_to(p)))))
        else:
            out.append(p)
    return out


def zip_entries(path: Path, name: str | None = None) -> list[str]:
    """The names of the files a ZIP holds (folders, hidden files and resource forks left out), its size not trusted."""
    name = name or path.name
    count = zip_entry_count(path)
    if count is None or count > MAX_ENTRIES:
        raise IngestRefused(
            f"Tệp ZIP {name} không đọc được hoặc có quá nhiều mục (tối đa {MAX_ENTRIES})",
            f"ZIP {name} is unreadable or has too many entries (at most {MAX_ENTRIES})",
            code="bad_zip",
        )
    try:
        with zipfile.ZipFile(path) as z:
            return [i.filename for i in z.infolist() if not i.is_dir() and not _skipped(i.filename)]
    except zipfile.BadZipFile:
        raise IngestRefused(f"Tệp ZIP {name} bị hỏng", f"ZIP {name} is damaged", code="bad_zip") from None


def _bomb(name: str) -> IngestRefused:
    return IngestRefused(
        f"Mục {name} trong tệp ZIP giải nén ra lớn bất thường so với kích thước nén (nghi là bom ZIP)",
        f"ZIP entry {name} inflates far beyond its compressed size (a ZIP bomb?)",
        code="zip_bomb",
    )


def _total_exceeded() -> IngestRefused:
    gb = MAX_TOTAL_BYTES / 1024**3
    return IngestRefused(
        f"Các tệp trong ZIP vượt quá tổng dung lượng cho phép ({gb:.0f} GB); hãy chia thành nhiều tệp ZIP",
        f"The ZIP's files together pass the limit ({gb:.0f} GB); split it into several ZIPs",
        code="zip_too_large",
        status=413,
    )


def is_zip(path: Path, name: str | None = None) -> bool:
    """A ZIP of files to unpack (by its name and its bytes): an Office document is a ZIP too, but is stored whole."""
    return (name or path.name).lower().endswith(".zip") and zipfile.is_zipfile(path)


def expand(path: Path, spool: Path, limit: int, *, name: str | None = None) -> Iterator[BatchFile]:
    """A loose file as it is; a ZIP's entries one at a time, each copied out with `limit` and deleted after use.
    `name`: the file's own name when `path` is a spool file (an upload)."""
    name = name or path.name
    if not is_zip(path, name):
        yield BatchFile(name, path, str(path))
        return
    entries = zip_entries(path, name)
    total = 0
    with zipfile.ZipFile(path) as z:
        for entry in entries:
            fd, tmp = tempfile.mkstemp(prefix="batch-", dir=spool)
            out_path = Path(tmp)
            try:
                refused = None
                size = 0
                # the ratio is judged on what the entry declares compressed: a lie there only makes it stop sooner
                ceiling = min(limit, max(RATIO_FLOOR, z.getinfo(entry).compress_size * MAX_RATIO))
                with os.fdopen(fd, "wb") as out, z.open(entry) as src:
                    while chunk := src.read(CHUNK):
                        size += len(chunk)
                        if total + size > MAX_TOTAL_BYTES:
                            refused = _total_exceeded()
                        elif size > limit:
                            refused = too_large(limit)
                        elif size > ceiling:
                            refused = _bomb(PurePosixPath(entry).name)
                        if refused is not None:
                            break
                        out.write(chunk)
                total += size
                yield BatchFile(PurePosixPath(entry).name, out_path, f"{name}:{entry}", refused)
            finally:
                out_path.unlink(missing_ok=True)


def count_files(paths: list[Path]) -> int:
    """How many files a batch holds (for a progress bar), ZIP entries counted one by one."""
    n = 0
    for p in paths:
        n += len(zip_entries(p)) if is_zip(p) else 1
    return n
