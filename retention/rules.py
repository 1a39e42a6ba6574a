"""Retention rules: a pure function of plain data and a date (no database, no clock, no I/O).

`decide(facts, schedules, today)` says, for one document, which schedule rows apply, the retention period, the date
from which it may be disposed of, and what (if anything) blocks disposal today.

Choices, each made on the side of keeping documents longer (a wrong "keep" can be corrected; a wrong "destroy" cannot):
- Counting: TT 27/2016 counts "from the year the work ends". A school-year record (2024-2025) ends in 2025. N years
  are kept in full after that year: the document may go from 1 January of (end year + N + 1).
- Which schedule: the one in force on the day the work ended (the file is closed then, Nghị định 30/2020 Điều 29):
  for a school-year record, 31 May of its ending year (the EndDate the manifests carry). A document closed before the
  earliest national schedule is judged by the earliest one.
- Several schedules at once (law + guidance + a school's own): the latest in force of each kind applies, and the
  longest period wins — a school may keep longer than the law, never shorter. If any applicable row is unverified,
  the result is unverified: permanent, and no disposal until someone authorised confirms the row.
- No row at all for the type: treated like an unverified row.
- "Until the students leave the school": an event-based period; without a confirmed date for the document it blocks
  disposal like an unverified row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final, Literal

from archive.school_year import years_of

from .errors import RuleError

PERMANENT: Final = "permanent"
YEARS: Final = "years"
EVENT: Final = "event"
STUDENTS_LEAVE = "students_leave"
WORK_END_YEAR = "work_end_year"
STATUSES = ("sourced", "sourced-medium", "unverified")
CONFIRMED_STATUSES = ("sourced", "sourced-medium")
SCHOOL_YEAR_END = (5, 31)  # month, day: EndDate of a school year in the manifests
VN_TZ = timezone(timedelta(hours=7))
# Object Lock for permanent documents: a far date, refreshed by the lock job so it never comes near
PERMANENT_LOCK_YEARS = 100
UNCONFIRMED_LOCK_DAYS = 400  # rolling lock while the period is unknown
LOCK_REFRESH_SLACK_DAYS = 60

# blockers (why a document cannot be disposed of today)
B_PERMANENT = "permanent"
B_UNVERIFIED = "unverified"
B_NO_RULE = "no_rule"
B_EVENT_DATE = "event_date_missing"
B_NOT_YET = "not_yet"
B_HOLD = "legal_hold"
B_DISPOSED = "disposed"

_YEARS_RE = re.compile(r"^(\d{1,3})\s*(years?|năm)$", re.IGNORECASE)
_EVENT_TEXTS = ("until the students concerned leave the school", "until the students leave the school")


@dataclass(frozen=True)
class RetentionPeriod:
    kind: Literal["permanent", "years", "event"]
    years: int | None = None
    event: str | None = None

    def __post_init__(self) -> None:
        if self.kind == YEARS and (self.years is None or self.years < 1):
            raise RuleError(
                f"Thời hạn tính bằng năm cần một số năm dương, không phải {self.years!r}",
                f"a period in years needs a positive number of years, not {self.years!r}",
            )
        if self.kind == EVENT and self.event != STUDENTS_LEAVE:
            raise RuleError(f"Sự kiện không xác định: {self.event!r}", f"unknown event {self.event!r}")
        if self.kind not in (PERMANENT, YEARS, EVENT):
            raise RuleError(
                f"Loại thời hạn không xác định: {self.kind!r}", f"unknown period kind {self.kind!r}"
            )

    @classmethod
    def parse(cls, text: str) -> RetentionPeriod:
        t = " ".join(text.strip().lower().split())
        if t in ("permanent", "vĩnh viễn", "vinh vien"):
            return cls(PERMANENT)
        if t in _EVENT_TEXTS or t == STUDENTS_LEAVE:
            return cls(EVENT, event=STUDENTS_LEAVE)
        m = _YEARS_RE.match(t)
        if m:
            return cls(YEARS, years=int(m.group(1)))
        raise RuleError(
            f"Không đọc được thời hạn bảo quản {text!r} (vĩnh viễn, 'N năm' hoặc 'đến khi học sinh rời trường')",
            f"unreadable retention {text!r} (permanent, 'N years', or 'until the students leave')",
        )

    @property
    def text(self) -> str:
        if self.kind == YEARS:
            return f"{self.years} years"
        if self.kind == EVENT:
            return "until the students concerned leave the school"
        return PERMANENT

    @property
    def label_vi(self) -> str:
        """As written in a file's Maintenance field (Nghị định 30/2020 Phụ lục VI)."""
        if self.kind == YEARS:
            return f"{self.years:02d} năm"
        if self.kind == EVENT:
            return "Đến khi học sinh rời trường"
        return "Vĩnh viễn"


@dataclass(frozen=True)
class Rule:
    """One row of a schedule (its current version)."""

    schedule: str
    type_code: str
    period: RetentionPeriod
    status: str
    source: str = ""
    level: str = ""  # "" = every level; else THCS / THPT / GDTX
    counted_from: str = WORK_END_YEAR
    rule_id: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise RuleError(
                f"Trạng thái dòng không xác định: {self.status!r} ({', '.join(STATUSES)})",
                f"unknown row status {self.status!r} ({', '.join(STATUSES)})",
            )
        if self.counted_from != WORK_END_YEAR:
            raise RuleError(
                f"Cách tính thời hạn không xác định: {self.counted_from!r}",
                f"unknown counting basis {self.counted_from!r}",
            )

    @property
    def confirmed(self) -> bool:
        return self.status in CONFIRMED_STATUSES


@dataclass(frozen=True)
class Schedule:
    code: str
    kind: str  # law / guidance / school
    effective_from: date
    rules: tuple[Rule, ...] = ()
    school: str | None = None  # for kind "school": the school's code

    def rules_for(self, type_code: str, levels: Sequence[str]) -> tuple[Rule, ...]:
        """Rows for the type at the school's level; a level-specific row takes precedence over the general one. A
        school teaching several levels gets every matching level's row (the longest then wins)."""
        rows = [r for r in self.rules if r.type_code == type_code]
        specific = tuple(r for r in rows if r.level and r.level in levels)
        return specific or tuple(r for r in rows if not r.level)


@dataclass(frozen=True)
class DocumentFacts:
    document_id: str
    type_code: str
    school: str
    school_year: str  # 2024-2025
    school_levels: tuple[str, ...] = ()
    status: str = "active"
    holds: tuple[int, ...] = ()  # ids of active legal holds
    event_dates: Mapping[str, date] = field(default_factory=dict)

    @property
    def work_end_year(self) -> int:
        return work_end_year(self.school_year)


@dataclass(frozen=True)
class Decision:
    document_id: str
    type_code: str
    work_end_year: int
    closed_on: date
    applied: tuple[Rule, ...]
    period: RetentionPeriod  # the governing (longest) period; permanent when unverified
    confirmed: bool
    disposable_from: date | None  # None: never (permanent / unverified) or unknown (event date missing)
    blockers: tuple[str, ...]
    holds: tuple[int, ...]

    @property
    def due(self) -> bool:
        return not self.blockers

    @property
    def permanent(self) -> bool:
        return self.disposable_from is None

    def lock_until(self, now: datetime) -> datetime:
        """How long storage must keep every copy (Object Lock). Callers never lower an existing lock (see holds).

        - a date: the start of the disposable-from day, Vietnam time;
        - confirmed permanent: PERMANENT_LOCK_YEARS from now (refreshed by the lock job);
        - not known yet (unverified row, event date missing): a rolling UNCONFIRMED_LOCK_DAYS from now, refreshed. Not
          100 years: a COMPLIANCE lock can never be shortened, so a row confirmed later as "5 years" would otherwise
          leave the copies undeletable for a century."""
        if self.disposable_from is not None:
            return datetime.combine(self.disposable_from, time(0, 0), VN_TZ).astimezone(UTC)
        if self.confirmed and self.period.kind == PERMANENT:
            return now.astimezone(UTC) + timedelta(days=365 * PERMANENT_LOCK_YEARS + 25)
        return now.astimezone(UTC) + timedelta(days=UNCONFIRMED_LOCK_DAYS)

    def lock_slack(self) -> timedelta:
        """How far an existing lock may lag the target before it is refreshed (no API call per object per day for
        rolling locks; none for a fixed date)."""
        if self.disposable_from is not None:
            return timedelta(0)
        return timedelta(days=LOCK_REFRESH_SLACK_DAYS)


def work_end_year(school_year: str) -> int:
    years = years_of(school_year)
    if years is None:
        raise RuleError(f"Không phải năm học: {school_year!r}", f"not a school year: {school_year!r}")
    return years[1]


def closing_date(school_year: str) -> date:
    return date(work_end_year(school_year), *SCHOOL_YEAR_END)


def applicable_schedules(schedules: Sequence[Schedule], school: str, closed_on: date) -> tuple[Schedule, ...]:
    """The latest schedule in force on `closed_on` for each kind (law, guidance, this school's own)."""
    chosen: list[Schedule] = []
    groups: dict[tuple[str, str | None], list[Schedule]] = {}
    for s in schedules:
        if s.kind == "school" and s.school != school:
            continue
        groups.setdefault((s.kind, s.school), []).append(s)
    for (kind, _), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        in_force = [s for s in group if s.effective_from <= closed_on]
        if in_force:
            chosen.append(max(in_force, key=lambda s: s.effective_from))
        elif kind == "law":
            # older than every national schedule: the earliest one is the best evidence we have
            chosen.append(min(group, key=lambda s: s.effective_from))
    return tuple(chosen)


def _end_date(rule: Rule, facts: DocumentFacts) -> date | None:
    """The disposable-from date under one confirmed row, or None when it cannot be known (yet)."""
    p = rule.period
    if p.kind == YEARS:
        assert p.years is not None
        return date(facts.work_end_year + p.years + 1, 1, 1)
    if p.kind == EVENT:
        assert p.event is not None
        return facts.event_dates.get(p.event)
    return None


def decide(facts: DocumentFacts, schedules: Sequence[Schedule], today: date) -> Decision:
    closed_on = closing_date(facts.school_year)
    applied: list[Rule] = []
    for s in applicable_schedules(schedules, facts.school, closed_on):
        applied.extend(s.rules_for(facts.type_code, facts.school_levels))
    blockers: list[str] = []
    confirmed = bool(applied) and all(r.confirmed for r in applied)
    if not applied:
        blockers.append(B_NO_RULE)
    elif not confirmed:
        blockers.append(B_UNVERIFIED)

    period = RetentionPeriod(PERMANENT)
    disposable_from: date | None = None
    if confirmed:
        permanent = [r for r in applied if r.period.kind == PERMANENT]
        if permanent:
            blockers.append(B_PERMANENT)
        else:
            ends = [(_end_date(r, facts), r) for r in applied]
            if any(end is None for end, _ in ends):
                blockers.append(B_EVENT_DATE)
                period = next(r.period for end, r in ends if end is None)
            else:
                end, rule = max(ends, key=lambda er: er[0] or date.min)
                disposable_from, period = end, rule.period
                if today < end:  # type: ignore[operator]
                    blockers.append(B_NOT_YET)
    if facts.holds:
        blockers.append(B_HOLD)
    if facts.status == "disposed":
        blockers.append(B_DISPOSED)
    return Decision(
        document_id=facts.document_id,
        type_code=facts.type_code,
        work_end_year=facts.work_end_year,
        closed_on=closed_on,
        applied=tuple(applied),
        period=period,
        confirmed=confirmed,
        disposable_from=disposable_from,
        blockers=tuple(blockers),
        holds=tuple(facts.holds),
    )


BLOCKER_TEXT = {
    B_PERMANENT: ("Bảo quản vĩnh viễn", "Kept permanently"),
    B_UNVERIFIED: (
        "Thời hạn bảo quản chưa được xác nhận (coi như vĩnh viễn)",
        "Retention row not confirmed (counts as permanent)",
    ),
    B_NO_RULE: ("Không có dòng thời hạn bảo quản cho loại hồ sơ", "No retention row for the document type"),
    B_EVENT_DATE: (
        "Chưa xác nhận ngày học sinh rời trường",
        "The date the students left the school is not confirmed",
    ),
    B_NOT_YET: ("Chưa hết thời hạn bảo quản", "Retention period not over yet"),
    B_HOLD: ("Đang bị phong tỏa pháp lý (thanh tra, khiếu nại)", "Under legal hold (inspection, complaint)"),
    B_DISPOSED: ("Đã tiêu hủy", "Already disposed of"),
}
