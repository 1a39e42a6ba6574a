"""The files of a batch: loose files, every file of a folder, or the entries of a ZIP (a class's exports), each handed
over as a file on disk with the name it will be stored under.

A ZIP is untrusted input: its declared entry count is read before zipfile builds its directory, each entry is copied
out with a size limit (what it says of its own size is not believed), only the entry's base name is kept (no path
leaves the spool folder), and folders, hidden files and macOS resource forks are skipped.
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


def zip_entries(path: Path) -> list[str]:
    count = zip_entry_count(path)
    if count is None or count > MAX_ENTRIES:
        raise IngestRefused(
            f"Tệp ZIP {path.name} không đọc được hoặc có quá nhiều mục (tối đa {MAX_ENTRIES})",
            f"ZIP {path.name} is unreadable or has too many entries (at most {MAX_ENTRIES})",
            code="bad_zip",
        )
    try:
        with zipfile.ZipFile(path) as z:
            return [i.filename for i in z.infolist() if not i.is_dir() and not _skipped(i.filename)]
    except zipfile.BadZipFile:
        raise IngestRefused(
            f"Tệp ZIP {path.name} bị hỏng", f"ZIP {path.name} is damaged", code="bad_zip"
        ) from None


def expand(path: Path, spool: Path, limit: int) -> Iterator[BatchFile]:
    """A loose file as it is; a ZIP's entries one at a time, each copied out with `limit` and deleted after use."""
    if not zipfile.is_zipfile(path) or path.suffix.lower() != ".zip":
        yield BatchFile(path.name, path, str(path))
        return
    names = zip_entries(path)
    with zipfile.ZipFile(path) as z:
        for name in names:
            fd, tmp = tempfile.mkstemp(prefix="batch-", dir=spool)
            out_path = Path(tmp)
            try:
                refused = None
                size = 0
                with os.fdopen(fd, "wb") as out, z.open(name) as src:
                    while chunk := src.read(CHUNK):
                        size += len(chunk)
                        if size > limit:
                            refused = too_large(limit)
                            break
                        out.write(chunk)
                yield BatchFile(PurePosixPath(name).name, out_path, f"{path.name}:{name}", refused)
            finally:
                out_path.unlink(missing_ok=True)


def count_files(paths: list[Path]) -> int:
    """How many files a batch holds (for a progress bar), ZIP entries counted one by one."""
    n = 0
    for p in paths:
        n += len(zip_entries(p)) if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p) else 1
    return n
