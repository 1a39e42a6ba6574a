"""Who teaches whom in a school year: classes, their homeroom and subject teachers, professional groups.

The signing chains resolve "the class's homeroom teacher", "every subject teacher of the class" and "the group head
of the uploader's group" through these tables (archive.chain_models). The school administrator and the principal
keep them (`roster.manage`): imported from CSV (archive/roster_csv.py), edited on the page "Phân công giảng dạy";
every change is an audit event."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .account_rules import organisations_of
from .chain_models import ClassTeacher, GroupMember, SchoolClass
from .errors import Conflict, InvalidInput, NotFound
from .events import record_event
from .models import Organisation, RoleAssignment, User


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


# --- reading a school's roster of one year ----------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    username: str
    full_name: str


@dataclass(frozen=True)
class Teaching:
    id: int
    subject: str
    teacher: Person


@dataclass(frozen=True)
class ClassView:
    name: str
    homeroom: Person | None
    teachers: list[Teaching]


@dataclass(frozen=True)
class GroupView:
    name: str
    heads: list[Person]
    members: list[Person]


@dataclass(frozen=True)
class Roster:
    school: str
    school_year: str
    classes: list[ClassView]
    groups: list[GroupView]


def _person(user: User) -> Person:
    return Person(user.username, user.full_name or "")


def name_key(text: str) -> tuple[str, str]:
    """Vietnamese reading order on every database: letters without their marks first (Tiếng < Tin), then as is."""
    bare = "".join(
        ch for ch in unicodedata.normalize("NFD", text.casefold()) if not unicodedata.combining(ch)
    )
    return bare.replace("đ", "d"), text


def _class_key(name: str) -> list[tuple[int, str]]:
    """10A2 < 10A10 < 11A1: numbers inside the name compare as numbers."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", name) if part]


def roster_of(session: Session, school: Organisation, school_year: str) -> Roster:
    classes = session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school.id, SchoolClass.school_year == school_year)
    ).all()
    views = [
        ClassView(
            c.name,
            _person(c.homeroom) if c.homeroom is not None else None,
            [
                Teaching(t.id, t.subject, _person(t.user))
                for t in sorted(c.teachers, key=lambda t: (name_key(t.subject), t.id))
            ],
        )
        for c in sorted(classes, key=lambda c: _class_key(c.name))
    ]
    members = session.scalars(
        select(GroupMember)
        .where(GroupMember.school_id == school.id, GroupMember.school_year == school_year)
        .order_by(GroupMember.group_name, GroupMember.id)
    ).all()
    groups: dict[str, GroupView] = {}
    for m in members:
        group = groups.setdefault(m.group_name, GroupView(m.group_name, [], []))
        (group.heads if m.is_head else group.members).append(_person(m.user))
    ordered = sorted(groups.values(), key=lambda g: name_key(g.name))
    return Roster(school.code, school_year, views, ordered)


def years_with_roster(session: Session, school: Organisation) -> list[str]:
    years = set(session.scalars(select(SchoolClass.school_year).where(SchoolClass.school_id == school.id)))
    years |= set(session.scalars(select(GroupMember.school_year).where(GroupMember.school_id == school.id)))
    return sorted(years, reverse=True)


# --- editing (each change an audit event, in the caller's transaction) ----------------------------------------------
def teacher_of_school(session: Session, school: Organisation, username: str) -> User:
    """The account `username`, which must belong to the school (its home, or a role held there)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise InvalidInput(
            f"Không có tài khoản {username}", f"No account named {username}", code="user_not_found"
        )
    if school.id not in {o.id for o in organisations_of(session, user)}:
        raise InvalidInput(
            f"{username} không thuộc trường {school.code}",
            f"{username} does not belong to {school.code}",
            code="not_of_school",
        )
    return user


def _class(session: Session, school: Organisation, school_year: str, name: str) -> SchoolClass:
    found = find_class(session, school.id, school_year, name)
    if found is None:
        raise NotFound(
            f"Không có lớp {name} năm học {school_year} ở trường {school.code}",
            f"No class {name} in {school_year} at {school.code}",
            code="class_not_found",
        )
    return found


def _event(session: Session, action: str, actor: User | None, school: Organisation, **detail: object) -> None:
    record_event(
        session, action, actor=actor, organisation_id=school.id, detail={"school": school.code} | detail
    )


def set_homeroom(
    session: Session,
    school: Organisation,
    school_year: str,
    class_name: str,
    username: str | None,
    *,
    actor: User | None,
) -> SchoolClass:
    found = _class(session, school, school_year, class_name)
    user = teacher_of_school(session, school, username) if username else None
    found.homeroom_id = user.id if user is not None else None
    _event(
        session, "roster.homeroom", actor, school, year=school_year, class_name=found.name, username=username
    )
    return found


def add_subject_teacher(
    session: Session,
    school: Organisation,
    school_year: str,
    class_name: str,
    subject: str,
    username: str,
    *,
    actor: User | None,
) -> ClassTeacher:
    found = _class(session, school, school_year, class_name)
    subject = check_subject(subject)
    user = teacher_of_school(session, school, username)
    if any(t.subject == subject and t.user_id == user.id for t in found.teachers):
        raise Conflict(
            f"{username} đã dạy {subject} ở lớp {found.name}",
            f"{username} already teaches {subject} in {found.name}",
            code="already_assigned",
        )
    row = ClassTeacher(subject=subject, user_id=user.id)
    found.teachers.append(row)
    session.flush()
    _event(
        session, "roster.teacher_add", actor, school, year=school_year, class_name=found.name, subject=subject,
        username=user.username,
    )  # fmt: skip
    return row


def remove_subject_teacher(
    session: Session,
    school: Organisation,
    school_year: str,
    class_name: str,
    teaching_id: int,
    *,
    actor: User | None,
) -> None:
    found = _class(session, school, school_year, class_name)
    row = next((t for t in found.teachers if t.id == teaching_id), None)
    if row is None:
        raise NotFound(
            f"Lớp {found.name} không có phân công {teaching_id}",
            f"No assignment {teaching_id} in {found.name}",
            code="assignment_not_found",
        )
    _event(
        session, "roster.teacher_remove", actor, school, year=school_year, class_name=found.name,
        subject=row.subject, username=row.user.username,
    )  # fmt: skip
    found.teachers.remove(row)


def set_group_head(
    session: Session,
    school: Organisation,
    school_year: str,
    group_name: str,
    username: str,
    *,
    actor: User | None,
) -> None:
    """`username` heads the group (added to it if need be); whoever headed it before stays a member."""
    group_name = check_group(group_name)
    user = teacher_of_school(session, school, username)
    members = session.scalars(
        select(GroupMember).where(
            GroupMember.school_id == school.id,
            GroupMember.school_year == school_year,
            GroupMember.group_name == group_name,
        )
    ).all()
    if not members:
        raise NotFound(
            f"Không có tổ {group_name} năm học {school_year}",
            f"No group {group_name} in {school_year}",
            code="group_not_found",
        )
    mine = next((m for m in members if m.user_id == user.id), None)
    for m in members:
        m.is_head = False
    if mine is None:
        mine = GroupMember(
            school_id=school.id, school_year=school_year, group_name=group_name, user_id=user.id
        )
        session.add(mine)
    mine.is_head = True
    _event(
        session,
        "roster.group_head",
        actor,
        school,
        year=school_year,
        group=group_name,
        username=user.username,
    )


def _name(text: str, limit: int, what_vi: str, what_en: str, code: str) -> str:
    """A name typed by a person, spaces collapsed, 1..limit characters (the catalog column's width)."""
    text = " ".join(text.split())
    if not text or len(text) > limit:
        raise InvalidInput(
            f"{what_vi} phải có từ 1 đến {limit} ký tự", f"{what_en} has 1 to {limit} characters", code=code
        )
    return text


def check_subject(subject: str) -> str:
    return _name(subject, 100, "Tên môn học", "A subject name", "bad_subject")


def check_group(name: str) -> str:
    return _name(name, 100, "Tên tổ chuyên môn", "A group name", "bad_group")


def check_class_name(name: str) -> str:
    return _name(name, 50, "Tên lớp", "A class name", "bad_class")


def roster_school(session: Session, code: str) -> Organisation:
    """The school `code` (a Sở or a Phòng has no classes)."""
    school = session.scalar(select(Organisation).where(Organisation.code == code))
    if school is None:
        raise NotFound(f"Không có đơn vị {code}", f"No organisation {code}", code="organisation_not_found")
    if school.kind != "truong":
        raise InvalidInput(
            f"{code} không phải là trường: chỉ trường mới có phân công giảng dạy",
            f"{code} is not a school: only schools have classes and teachers",
            code="not_a_school",
        )
    return school


def people_of_school(session: Session, school: Organisation) -> list[User]:
    """Active accounts of the school (its home, or a role held there): whom a class or group can be given to."""
    from_roles = select(RoleAssignment.user_id).where(RoleAssignment.organisation_id == school.id)
    found = session.scalars(
        select(User).where(
            User.is_active.is_(True),
            (User.organisation_id == school.id) | User.id.in_(from_roles),
        )
    ).all()
    return sorted(found, key=lambda u: name_key(u.full_name or u.username))
