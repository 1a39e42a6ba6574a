"""Who teaches whom in a school year: classes, their homeroom and subject teachers, professional groups.

The signing chains resolve "the class's homeroom teacher", "every subject teacher of the class" and "the group head
of the uploader's group" through these tables (archive.chain_models)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .chain_models import ClassTeacher, GroupMember, SchoolClass
from .models import User


def find_class(session: Session, school_id: int, school_year: str, name: str | None) -> SchoolClass | None:
    if not name:
        return None
    return session.scalar(
        select(SchoolClass).where(
            SchoolClass.school_id == school_id,
            SchoolClass.school_year == school_year,
            SchoolClass.name == name.strip(),
        )
    )


def homeroom_of(session: Session, school_id: int, school_year: str, class_name: str | None) -> list[User]:
    found = find_class(session, school_id, school_year, class_name)
    return [found.homeroom] if found is not None and found.homeroom is not None else []


def subject_teachers_of(
    session: Session, school_id: int, school_year: str, class_name: str | None
) -> list[tuple[User, str]]:
    """(teacher, subject) of the class, one row per teacher (a teacher of two subjects signs once)."""
    found = find_class(session, school_id, school_year, class_name)
    if found is None:
        return []
    rows = session.scalars(
        select(ClassTeacher).where(ClassTeacher.class_id == found.id).order_by(ClassTeacher.id)
    ).all()
    seen: dict[int, tuple[User, str]] = {}
    for row in rows:
        if row.user_id in seen:
            teacher, subjects = seen[row.user_id]
            seen[row.user_id] = (teacher, f"{subjects}, {row.subject}")
        else:
            seen[row.user_id] = (row.user, row.subject)
    return list(seen.values())


def group_heads_of(session: Session, school_id: int, school_year: str, member_id: int | None) -> list[User]:
    """The head(s) of the professional group(s) `member_id` belongs to in that year."""
    if member_id is None:
        return []
    groups = select(GroupMember.group_name).where(
        GroupMember.school_id == school_id,
        GroupMember.school_year == school_year,
        GroupMember.user_id == member_id,
    )
    heads = session.scalars(
        select(GroupMember).where(
            GroupMember.school_id == school_id,
            GroupMember.school_year == school_year,
            GroupMember.is_head.is_(True),
            GroupMember.group_name.in_(groups),
        )
    ).all()
    unique = {h.user_id: h.user for h in heads}
    return list(unique.values())
