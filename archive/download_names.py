"""The name a downloaded file is given: `<school>_<year>_<type>_<class>_<title>.pdf` (the original name stays in the
catalog). An inspector who downloads forty files gets forty names that say what each one is and sort together."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .search_text import strip_marks

# what no file system accepts (Windows is the strictest), and the separator between the parts
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*_]+')
_SPACES = re.compile(r"\s+")
MAX_NAME = 180  # characters, below every common file system's limit with room for " (1)" suffixes


def _part(text: str | None) -> str:
    cleaned = _SPACES.sub("-", _UNSAFE.sub("-", (text or "").strip()))
    return re.sub(r"-{2,}", "-", cleaned).strip("-.")


def download_name(
    *, school: str, year: str, type_code: str, class_name: str | None, title: str, original: str
) -> str:
    """The parts joined by "_" (a missing class is left out, not an empty part); the extension is the stored one."""
    ext = PurePosixPath(original).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", ext):
        ext = ""
    head = "_".join(p for p in (_part(school), _part(year), _part(type_code), _part(class_name)) if p)
    room = max(1, MAX_NAME - len(head) - len(ext) - 1)
    tail = _part(title)[:room].rstrip("-.")
    return f"{head}_{tail}{ext}" if tail else f"{head}{ext}"


def ascii_name(name: str) -> str:
    """The fallback for clients that do not read filename*: the same name without diacritics (đ → d)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", strip_marks(name))
