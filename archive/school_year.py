"""The school-year rule, in one place: how a school year is written, which one a day belongs to. Pure: no clock, no I/O.

A school year is written "2024-2025": two consecutive calendar years. It starts in August: the Ministry's yearly time
frame brings teachers and pupils back (tựu trường) in the second half of August, before classes and the opening day in
early September, and the new year's plans are written and filed then. It ends on 31 May (the EndDate the manifests
carry, retention/rules.py SCHOOL_YEAR_END); June and July still belong to the year that just closed.
"""

from __future__ import annotations

import re
from datetime import date

from .errors import InvalidInput

FIRST_MONTH = 8  # August
_FORM = re.compile(r"^(\d{4})-(\d{4})$")


def years_of(year: str) -> tuple[int, int] | None:
    """The start and end calendar years of `year` ("2024-2025" → (2024, 2025)), or None when it is not a school
    year (another form, or years that do not follow each other)."""
    m = _FORM.match(year.strip())
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        return None
    return int(m.group(1)), int(m.group(2))


def check_school_year(year: str) -> str:
    """`year` without surrounding spaces; InvalidInput (422) when a person typed something that is not a school year."""
    if years_of(year) is None:
        raise InvalidInput(
            f"Năm học không hợp lệ: {year!r} (ví dụ 2024-2025)",
            f"Invalid school year {year!r} (e.g. 2024-2025)",
        )
    return year.strip()


def current_school_year(today: date) -> str:
    """The school year `today` belongs to (from 1 August: the year that starts then)."""
    start = today.year if today.month >= FIRST_MONTH else today.year - 1
    return f"{start}-{start + 1}"
