"""Locking a school year's records of one type (e.g. học bạ 2024-2025): after the lock no new version is added,
except through an approved correction (CV 1370: the principal approves, the record is corrected, entry is locked again).

The principal locks; the school administrator may lock or unlock on the principal's instruction, and then the
instructing principal is recorded. Locking and unlocking are events in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import Conflict, InvalidInput, NotFound
from .events import record_event
from .models import DocumentType, Organisation, RecordLock, RoleAssignment, User
from .school_year import check_school_year
from .state_records import username, write_record

# Hook for the corrections feature (a later issue): given (session, lock, correction_id) it returns True when that
# correction is approved for the locked records. Until it is registered, no correction can pass a lock.
CorrectionCheck = Callable[[Session, RecordLock, int], bool]
correction_check: CorrectionCheck | None = None

# Actions a lock does not stop, as the pages offer them: signatures of a record's chain (and the seal, and long-term
# renewal) only append to the signed file. add_version enforces it by bytes, not by name: a new version passes a lock
# only when it is told `appends` and add_version_from_bytes checked that it begins with the previous version's bytes.
PASSES_LOCK: frozenset[str] = frozenset({"document.sign"})


def passes_lock(event: str) -> bool:
    return event in PASSES_LOCK


def find_lock(session: Session, school_id: int, type_code: str, year: str) -> RecordLock | None:
    return session.scalar(
        select(RecordLock).where(
            RecordLock.school_id == school_id,
            RecordLock.type_code == type_code,
            RecordLock.school_year == year,
        )
    )


def ensure_unlocked(
    session: Session, school_id: int, type_code: str, year: str, *, correction_id: int | None = None
) -> None:
    """Raise Conflict (code "locked") if the records are locked and no approved correction is given."""
    lock = find_lock(session, school_id, type_code, year)
    if lock is None:
        return
    if (
        correction_id is not None
        and correction_check is not None
        and correction_check(session, lock, correction_id)
    ):
        return
    school = session.get(Organisation, school_id)
    code = school.code if school else str(school_id)
    raise Conflict(
        f"Hồ sơ {type_code} năm học {year} của {code} đã bị khóa; chỉ sửa qua biên bản chỉnh sửa được duyệt",
        f"{type_code} records of {code} for {year} are locked; changes need an approved correction",
        code="locked",
    )


def _holds_role(session: Session, user: User, role: str, school_id: int) -> bool:
    found = session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role,
            RoleAssignment.organisation_id == school_id,
        )
    )
    return found is not None


def _holders(session: Session, role: str, school_id: int, *order: Any) -> list[User]:
    """Active accounts holding `role` at the school."""
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == role,
                RoleAssignment.organisation_id == school_id,
                User.is_active.is_(True),
            )
            .order_by(*order)
        )
    )


def is_principal(session: Session, user: User, school: Organisation) -> bool:
    return _holds_role(session, user, "hieu_truong", school.id)


def principals_of(session: Session, school: Organisation) -> list[User]:
    """The school's principals (active accounts): whose instruction a school administrator may act on."""
    return _holders(session, "hieu_truong", school.id, User.full_name, User.username)


def is_administrator(session: Session, user: User, school: Organisation) -> bool:
    """The system administrator CV 1370 names: the school's cán bộ quản trị, or the instance's administrator."""
    return user.is_system_admin or _holds_role(session, user, "school_admin", school.id)


def administrators_of(session: Session, school_id: int) -> list[User]:
    """Who signs a biên bản as administrator: the school's cán bộ quản trị, else the instance's administrators."""
    school_admins = _holders(session, "school_admin", school_id, User.id)
    if school_admins:
        return school_admins
    return list(
        session.scalars(
            select(User).where(User.is_system_admin.is_(True), User.is_active.is_(True)).order_by(User.id)
        )
    )


def _instruction(
    session: Session, actor: User | None, school: Organisation, instructed_by: User | None
) -> User | None:
    """Who instructed: required (and must be the school's principal) when the actor is not the principal."""
    if actor is not None and is_principal(session, actor, school):
        return instructed_by if instructed_by is not None and instructed_by.id != actor.id else None
    if instructed_by is None:
        raise InvalidInput(
            "Cần ghi rõ hiệu trưởng chỉ đạo khóa/mở khóa (instructed_by)",
            "Name the principal who instructed this lock change (instructed_by)",
            code="instruction_required",
        )
    if not is_principal(session, instructed_by, school):
        raise InvalidInput(
            f"{instructed_by.username} không phải hiệu trưởng của {school.code}",
            f"{instructed_by.username} is not the principal of {school.code}",
            code="not_principal",
        )
    return instructed_by


def _check_target(session: Session, school: Organisation, type_code: str, year: str) -> None:

    if school.kind != "truong":
        raise InvalidInput(
            f"{school.code} không phải là trường", f"{school.code} is not a school", code="not_a_school"
        )
    if session.get(DocumentType, type_code) is None:
        raise InvalidInput(
            f"Loại hồ sơ không hợp lệ: {type_code}",
            f"Unknown document type {type_code!r}",
            code="unknown_type",
        )
    check_school_year(year)


def add_lock(
    session: Session,
    *,
    school: Organisation,
    type_code: str,
    year: str,
    actor: User | None,
    instructed_by: User | None = None,
    reason: str = "",
) -> RecordLock:
    _check_target(session, school, type_code, year)
    instructed = _instruction(session, actor, school, instructed_by)
    if find_lock(session, school.id, type_code, year) is not None:
        raise Conflict(
            f"Hồ sơ {type_code} {year} của {school.code} đã được khóa trước đó",
            f"{type_code} {year} of {school.code} is already locked",
            code="already_locked",
        )
    lock = RecordLock(
        school_id=school.id,
        type_code=type_code,
        school_year=year,
        locked_at=utcnow(),
        locked_by_id=actor.id if actor else None,
        instructed_by_id=instructed.id if instructed else None,
        reason=reason[:500],
    )
    session.add(lock)
    session.flush()
    write_record(session, "lock", _lock_record("add", school, type_code, year, actor, instructed, reason))
    record_event(
        session,
        "lock.add",
        actor=actor,
        organisation_id=school.id,
        detail={
            "type": type_code,
            "year": year,
            "instructed_by": instructed.username if instructed else None,
            "reason": reason[:500],
        },
    )
    return lock


def remove_lock(
    session: Session,
    *,
    school: Organisation,
    type_code: str,
    year: str,
    actor: User | None,
    instructed_by: User | None = None,
    reason: str = "",
) -> None:
    lock = find_lock(session, school.id, type_code, year)
    if lock is None:
        raise NotFound(
            f"Hồ sơ {type_code} {year} của {school.code} không bị khóa",
            f"{type_code} {year} of {school.code} is not locked",
            code="lock_not_found",
        )
    instructed = _instruction(session, actor, school, instructed_by)
    session.delete(lock)
    write_record(session, "lock", _lock_record("remove", school, type_code, year, actor, instructed, reason))
    record_event(
        session,
        "lock.remove",
        actor=actor,
        organisation_id=school.id,
        detail={
            "type": type_code,
            "year": year,
            "instructed_by": instructed.username if instructed else None,
            "reason": reason[:500],
        },
    )


def _lock_record(
    op: str,
    school: Organisation,
    type_code: str,
    year: str,
    actor: User | None,
    instructed: User | None,
    reason: str,
) -> dict[str, object]:
    return {
        "op": op, "school": school.code, "type": type_code, "year": year, "by": username(actor),
        "instructed_by": username(instructed), "reason": reason[:500],
    }  # fmt: skip


def list_locks(
    session: Session, school_ids: list[int] | None = None, *, year: str | None = None
) -> list[RecordLock]:
    stmt = select(RecordLock).order_by(RecordLock.school_id, RecordLock.school_year, RecordLock.type_code)
    if school_ids is not None:
        stmt = stmt.where(RecordLock.school_id.in_(school_ids))
    if year is not None:
        stmt = stmt.where(RecordLock.school_year == year)
    return list(session.scalars(stmt))
