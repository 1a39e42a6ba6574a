"""Locks on a school year's records of one type (see archive/locks.py)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from archive import accounts, locks, orgs
from archive.context import Archive
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from hoso.api.schemas import LockChangeOut, LockOut

router = APIRouter(tags=["locks"])


class LockIn(BaseModel):
    school: str
    type: str
    year: str = Field(description="School year, e.g. 2024-2025")
    instructed_by: str | None = Field(
        default=None,
        description="Username of the principal who instructed it (required unless you are the principal)",
    )
    reason: str = Field(default="", max_length=500)


@router.get("/locks", summary="Locked records (of the schools I may read)")
def list_locks(guard: GuardDep, archive: ArchiveDep, school: str | None = None) -> list[LockOut]:
    with archive.sessions() as session:
        ids = guard.school_ids(session, "document.read")
        if school:
            org = orgs.get_organisation(session, school)
            ids = [org.id] if ids is None or org.id in ids else []
        return [LockOut.of(x) for x in locks.list_locks(session, ids)]


def _change(add: bool, body: LockIn, guard: Guard, archive: Archive) -> LockChangeOut:
    with archive.sessions() as session, session.begin():
        school = orgs.get_organisation(session, body.school)
        actor = guard.check(session, "lock.manage", school)
        instructed = accounts.get_user(session, body.instructed_by) if body.instructed_by else None
        fn = locks.add_lock if add else locks.remove_lock
        fn(
            session,
            school=school,
            type_code=body.type,
            year=body.year,
            actor=actor,
            instructed_by=instructed,
            reason=body.reason,
        )
    return LockChangeOut(school=body.school, type=body.type, year=body.year, locked=add)


@router.post(
    "/locks",
    status_code=201,
    summary="Lock a school year's records of a type (principal, or administrator on instruction)",
)
def add_lock(body: LockIn, guard: GuardDep, archive: ArchiveDep) -> LockChangeOut:
    return _change(True, body, guard, archive)


@router.post("/locks/remove", summary="Unlock (principal, or administrator on instruction)")
def remove_lock(body: LockIn, guard: GuardDep, archive: ArchiveDep) -> LockChangeOut:
    return _change(False, body, guard, archive)
