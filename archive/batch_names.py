"""Reading a record's class and type from the name of an exported file ("Hoc ba 10A1.pdf", "SoTheoDoi_6A.pdf"), so a
class's exports can be uploaded in one go and only confirmed, not typed.

The patterns are data (archive/data/batch-name-patterns.csv: words of the name → type code, and where the spelling
comes from: SMAS, vnEdu, QLTH/csdl.moet.gov.vn or the paper book's title), matched on the folded
name (archive/search_text.py), so diacritics, case and separators do not matter. They are a starting set to adjust to
the export names of the school-management software a province uses; a name that matches nothing is left for the
person to choose, never guessed at random.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import PurePosixPath

from .search_text import words

# a Vietnamese class: grade 1-12 then letters and digits (6A, 10A1, 12CB2); not a year (2024) or a page count
_CLASS = re.compile(r"^(?:[1-9]|1[0-2])[a-z]{1,3}\d{0,2}$")


@dataclass(frozen=True)
class NameGuess:
    type_code: str | None
    class_name: str | None


@cache
def patterns() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(words, type code), longest first so "so theo doi ca nhan" wins over "so theo doi"."""
    text = resources.files("archive").joinpath("data/batch-name-patterns.csv").read_text(encoding="utf-8")
    rows = [(tuple(words(r["words"])), r["type_code"]) for r in csv.DictReader(text.splitlines())]
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


def _split_joined(stem: str) -> str:
    # "SoTheoDoi_10A1" → "So Theo Doi 10A1": exports often join words in CamelCase
    out = []
    for i, ch in enumerate(stem):
        if i and ch.isupper() and stem[i - 1].islower():
            out.append(" ")
        out.append(ch)
    return "".join(out)


def guess(filename: str) -> NameGuess:
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    ws = words(_split_joined(stem))
    type_code = None
    for pattern, code in patterns():
        n = len(pattern)
        if any(tuple(ws[i : i + n]) == pattern for i in range(len(ws) - n + 1)):
            type_code = code
            break
    # "Lop10A1" / "L10A1" (SMAS and vnEdu glue the word for class to it)
    bare = [w.removeprefix("lop") if w.startswith("lop") else w.removeprefix("l") for w in ws]
    class_name = next((w.upper() for w in (*ws, *bare) if _CLASS.match(w)), None)
    return NameGuess(type_code, class_name)
