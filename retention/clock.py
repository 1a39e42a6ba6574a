"""The one clock retention decisions that change anything are judged by: the server's date, never a caller's.

Proposing, approving and executing disposal call `today()` themselves instead of taking a date, so no entry point
(API, CLI, page) can hand them one (finding: a client-given date disposed of records years early). Read-only reports
may still judge "as of" another date; they say so (`simulation`). Tests travel in time by monkeypatching
`retention.clock.today` in-process, or use documents of old school years that are really due.
"""

from __future__ import annotations

from datetime import date


def today() -> date:
    return date.today()


def simulation(on: date | None) -> dict[str, object]:
    """How a read-only answer says which date it judged by and whether that is the server's (a simulation if not)."""
    real = today()
    used = on or real
    return {"as_of": used.isoformat(), "simulation": used != real}
