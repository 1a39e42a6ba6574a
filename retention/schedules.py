"""Retention schedules in the catalog: loaded from retention/data, confirmed by people, turned into plain data for
the pure rules (retention/rules.py), and each document's decision.

The data files are the starting point; the catalog is the record. `ensure_schedules` adds what the files hold and the
catalog lacks (a new legal text, a new row) and never touches a row already there, so a confirmation is never undone
by a redeploy.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.documents import get_document
from archive.errors import InvalidInput, NotFound
from archive.events import record_event
from archive.models import Document, DocumentType, Organisation, User
from archive.permissions import authorize, permitted
from archive.state_records import write_record

from . import clock, rules
from .errors import RuleError
from .models import LegalHold, RetentionEventDate, RetentionRule, RetentionSchedule

DATA = Path(__file__).parent / "data"
KINDS = ("law", "guidance", "school")


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def ensure_schedules(session: Session) -> int:
    """Add the schedules and rows from retention/data that the catalog lacks; return how many rows were added."""
    known = {s.code for s in session.scalars(select(RetentionSchedule))}
    types = set(session.scalars(select(DocumentType.code)))
    for row in _read_csv("schedules.csv"):
        if row["code"] not in known:
            session.add(
                RetentionSchedule(
                    code=row["code"],
                    title=row["title"],
                    legal_text=row["legal_text"],
                    kind=row["kind"],
                    effective_from=date.fromisoformat(row["effective_from"]),
                    effective_from_status=row["effective_from_status"],
                    notes=row["notes"],
                    created_at=utcnow(),
                )
            )
    session.flush()
    have = {(r.schedule_code, r.type_code, r.level) for r in session.scalars(select(RetentionRule))}
    added = 0
    for row in _read_csv("schedule-rows.csv"):
        key = (row["schedule"], row["type_code"], row["level"])
        if key in have or row["type_code"] not in types:
            continue
        rules.RetentionPeriod.parse(row["retention"])  # refuse bad data before it reaches the catalog
        session.add(
            RetentionRule(
                schedule_code=row["schedule"],
                type_code=row["type_code"],
                level=row["level"],
                retention=row["retention"],
                counted_from=row["counted_from"],
                status=row["status"],
                source=row["source"],
                notes=row["notes"],
                recorded_at=utcnow(),
            )
        )
        added += 1
    session.flush()
    return added


def load_schedules(session: Session) -> list[rules.Schedule]:
    """Every schedule with its current rows, as plain data for rules.decide."""
    ensure_schedules(session)
    current = session.scalars(select(RetentionRule).where(RetentionRule.superseded_at.is_(None)))
    by_schedule: dict[str, list[rules.Rule]] = {}
    for r in current:
        by_schedule.setdefault(r.schedule_code, []).append(rule_data(r))
    out = []
    for s in session.scalars(select(RetentionSchedule).order_by(RetentionSchedule.effective_from)):
        out.append(
            rules.Schedule(
                code=s.code,
                kind=s.kind,
                effective_from=s.effective_from,
                rules=tuple(by_schedule.get(s.code, ())),
                school=s.school.code if s.school else None,
            )
        )
    return out


def rule_data(r: RetentionRule) -> rules.Rule:
    return rules.Rule(
        schedule=r.schedule_code,
        type_code=r.type_code,
        period=rules.RetentionPeriod.parse(r.retention),
        status=r.status,
        source=r.source,
        level=r.level,
        counted_from=r.counted_from,
        rule_id=r.id,
    )


# --- who may change retention data ----------------------------------------------------------------------------------
def can_manage_retention(session: Session, user: User, school: Organisation | None = None) -> bool:
    """Confirming schedule rows (not tied to a school: system administrator only), a document's event dates and legal
    holds (the school's principal — the person who approves disposal — or the system administrator)."""
    return permitted(session, user, "retention.approve_disposal", school)


def require_manager(session: Session, user: User, school: Organisation | None = None) -> None:
    """Raise PermissionDenied (recorded, token scopes applied) through the one permission path."""
    authorize(session, user, "retention.approve_disposal", school)


# --- confirming a row -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Confirmation:
    schedule: str
    type_code: str
    level: str
    retention: str
    source: str
    previous: str
    previous_status: str
    rule_id: int


def in_force_schedule(session: Session, kind: str = "law", on: date | None = None) -> RetentionSchedule:
    ensure_schedules(session)
    on = on or clock.today()
    rows = session.scalars(
        select(RetentionSchedule)
        .where(RetentionSchedule.kind == kind, RetentionSchedule.effective_from <= on)
        .order_by(RetentionSchedule.effective_from.desc())
    ).first()
    if rows is None:
        raise NotFound(
            "Không có danh mục thời hạn bảo quản", "No retention schedule in force", code="no_schedule"
        )
    return rows


def apply_confirmation(
    session: Session,
    *,
    schedule: str,
    type_code: str,
    level: str,
    retention: str,
    source: str,
    user: User | None,
    at: datetime,
) -> tuple[RetentionRule, RetentionRule | None]:
    """The confirmed row replaces the current one (kept, superseded). Checked by the caller: confirm_rule for a
    person, the catalog rebuild replaying a confirmation a person made (retention/state_replay.py)."""
    current = session.scalar(
        select(RetentionRule).where(
            RetentionRule.schedule_code == schedule,
            RetentionRule.type_code == type_code,
            RetentionRule.level == level,
            RetentionRule.superseded_at.is_(None),
        )
    )
    new = RetentionRule(
        schedule_code=schedule,
        type_code=type_code,
        level=level,
        retention=retention,
        counted_from=current.counted_from if current else rules.WORK_END_YEAR,
        status="sourced",
        source=source.strip(),
        notes=f"Xác nhận bởi / confirmed by {user.username if user else '?'}",
        recorded_at=at,
        recorded_by=user,
    )
    if current is not None:
        current.superseded_at = at
    session.add(new)
    session.flush()
    return new, current


def confirm_rule(
    session: Session,
    *,
    type_code: str,
    retention: str,
    source: str,
    user: User,
    schedule: str | None = None,
    level: str = "",
) -> Confirmation:
    """Record an authorised person's confirmed value for a row: a new row version (status `sourced`) replaces the
    current one, and an event says who and when. The old version stays in the catalog."""
    require_manager(session, user)
    ensure_schedules(session)
    if not source.strip():
        raise InvalidInput(
            "Cần ghi rõ căn cứ pháp lý (văn bản, điều, mục)",
            "A legal source is required (text, article, item)",
            code="source_required",
        )
    try:
        period = rules.RetentionPeriod.parse(retention)
    except RuleError:
        raise InvalidInput(
            f"Thời hạn không hợp lệ: {retention!r}", f"Invalid retention {retention!r}", code="bad_retention"
        ) from None
    sched = session.get(RetentionSchedule, schedule) if schedule else in_force_schedule(session)
    if sched is None:
        raise NotFound(f"Không có danh mục {schedule}", f"No schedule {schedule}", code="schedule_not_found")
    if session.get(DocumentType, type_code) is None:
        raise InvalidInput(
            f"Loại hồ sơ không hợp lệ: {type_code}",
            f"Unknown document type {type_code!r}",
            code="unknown_type",
        )
    new, current = apply_confirmation(
        session, schedule=sched.code, type_code=type_code, level=level, retention=period.text, source=source,
        user=user, at=utcnow(),
    )  # fmt: skip
    # written to every replica, so a catalog rebuilt from one replica keeps the confirmed value (issue 12)
    write_record(session, "retention_confirmation", {
        "schedule": sched.code, "type_code": type_code, "level": level, "retention": period.text,
        "source": new.source, "by": user.username,
    })  # fmt: skip
    record_event(
        session,
        "retention.confirm",
        actor=user,
        detail={
            "schedule": sched.code,
            "type": type_code,
            "level": level,
            "retention": period.text,
            "source": new.source,
            "previous": current.retention if current else None,
            "previous_status": current.status if current else None,
        },
    )
    return Confirmation(
        sched.code,
        type_code,
        level,
        period.text,
        new.source,
        current.retention if current else "",
        current.status if current else "",
        new.id,
    )


def set_event_date(
    session: Session,
    *,
    document_id: str,
    occurred_on: date,
    source: str,
    user: User,
    event: str = rules.STUDENTS_LEAVE,
) -> RetentionEventDate:
    """Confirm the date of the event an event-based period waits for (e.g. the students concerned left)."""
    doc = get_document(session, document_id)
    require_manager(session, user, doc.school)
    now = utcnow()
    for old in session.scalars(
        select(RetentionEventDate).where(
            RetentionEventDate.document_id == doc.id,
            RetentionEventDate.event == event,
            RetentionEventDate.superseded_at.is_(None),
        )
    ):
        old.superseded_at = now
    row = RetentionEventDate(
        document_id=doc.id,
        event=event,
        occurred_on=occurred_on,
        source=source,
        recorded_at=now,
        recorded_by_id=user.id,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "retention.event_date",
        actor=user,
        document_id=doc.id,
        organisation_id=doc.school_id,
        detail={"event": event, "date": occurred_on.isoformat(), "source": source},
    )
    return row


def add_school_schedule(
    session: Session,
    *,
    code: str,
    school: str,
    title: str,
    effective_from: date,
    rows: Iterable[tuple[str, str, str]],
    user: User,
) -> RetentionSchedule:
    """A school's own schedule: rows are (type_code, retention, source). It can only lengthen periods (rules.py)."""
    require_manager(session, user)
    org = session.scalar(select(Organisation).where(Organisation.code == school))
    if org is None:
        raise NotFound(f"Không tìm thấy trường {school}", f"No school {school}", code="school_not_found")
    if session.get(RetentionSchedule, code) is not None:
        raise InvalidInput(f"Danh mục {code} đã có", f"Schedule {code} exists", code="schedule_exists")
    sched = RetentionSchedule(
        code=code,
        title=title,
        legal_text=title,
        kind="school",
        school=org,
        effective_from=effective_from,
        effective_from_status="sourced",
        created_at=utcnow(),
    )
    session.add(sched)
    session.flush()
    for type_code, retention, source in rows:
        period = rules.RetentionPeriod.parse(retention)
        session.add(
            RetentionRule(
                schedule_code=code,
                type_code=type_code,
                retention=period.text,
                status="sourced",
                source=source,
                recorded_at=utcnow(),
                recorded_by=user,
            )
        )
    session.flush()
    record_event(session, "retention.schedule_add", actor=user, organisation_id=org.id, detail={"code": code})
    return sched


# --- facts and decisions --------------------------------------------------------------------------------------------
def document_facts(session: Session, doc: Document) -> rules.DocumentFacts:
    holds = tuple(
        session.scalars(
            select(LegalHold.id).where(LegalHold.document_id == doc.id, LegalHold.released_at.is_(None))
        )
    )
    events = {
        e.event: e.occurred_on
        for e in session.scalars(
            select(RetentionEventDate).where(
                RetentionEventDate.document_id == doc.id, RetentionEventDate.superseded_at.is_(None)
            )
        )
    }
    return _facts(doc, holds, events)


def _facts(doc: Document, holds: tuple[int, ...], events: dict[str, date]) -> rules.DocumentFacts:
    return rules.DocumentFacts(
        document_id=doc.id,
        type_code=doc.type_code,
        school=doc.school.code,
        school_year=doc.school_year,
        school_levels=tuple(doc.school.levels),
        status=doc.status,
        holds=holds,
        event_dates=events,
    )


FACTS_CHUNK = 1000  # documents whose holds and event dates are read together (one IN list each)


def decide_documents(
    session: Session, docs: Iterable[Document], today: date, schedules: Sequence[rules.Schedule] | None = None
) -> Iterator[tuple[Document, rules.Decision]]:
    """decide_document for many documents with a constant number of statements per FACTS_CHUNK documents (not two
    per document): holds and event dates are read for a chunk at once. Documents should come with their school
    loaded (joinedload), or each school is loaded once by the session."""
    schedules = schedules or load_schedules(session)
    chunk: list[Document] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) == FACTS_CHUNK:
            yield from _decide_chunk(session, chunk, today, schedules)
            chunk = []
    if chunk:
        yield from _decide_chunk(session, chunk, today, schedules)


def _decide_chunk(
    session: Session, docs: list[Document], today: date, schedules: Sequence[rules.Schedule]
) -> Iterator[tuple[Document, rules.Decision]]:
    ids = [d.id for d in docs]
    holds: dict[str, list[int]] = {}
    for doc_id, hold_id in session.execute(
        select(LegalHold.document_id, LegalHold.id)
        .where(LegalHold.document_id.in_(ids), LegalHold.released_at.is_(None))
        .order_by(LegalHold.id)
    ):
        holds.setdefault(doc_id, []).append(hold_id)
    events: dict[str, dict[str, date]] = {}
    for e in session.scalars(
        select(RetentionEventDate).where(
            RetentionEventDate.document_id.in_(ids), RetentionEventDate.superseded_at.is_(None)
        )
    ):
        events.setdefault(e.document_id, {})[e.event] = e.occurred_on
    for doc in docs:
        facts = _facts(doc, tuple(holds.get(doc.id, ())), events.get(doc.id, {}))
        yield doc, rules.decide(facts, schedules, today)


def decide_document(
    session: Session, doc: Document, today: date, schedules: Sequence[rules.Schedule] | None = None
) -> rules.Decision:
    return rules.decide(document_facts(session, doc), schedules or load_schedules(session), today)


def decision_for(session: Session, document_id: str, today: date) -> rules.Decision:
    return decide_document(session, get_document(session, document_id), today)
