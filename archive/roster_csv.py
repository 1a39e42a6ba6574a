"""Importing a school's classes, subject and homeroom teachers and professional groups from CSV (one row per class,
subject and teacher), all or nothing. The format is documented in README.md ("Phân công giảng dạy") and shipped as
archive/data/phan-cong-mau.csv:

    nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,to_truong
    2024-2025,10A1,Toán,gv.lan,gv.lan,Tổ Toán - Tin,x
    2024-2025,10A1,Ngữ văn,gv.minh,gv.lan,Tổ Ngữ văn,

- `nam_hoc` the school year; `lop` the class; `mon` the subject `giao_vien` teaches in it (usernames);
- `gvcn` the class's homeroom teacher (on any row of the class; rows that name one must agree);
- `to_chuyen_mon` the professional group `giao_vien` belongs to, `to_truong` marked (x, 1, có) when they head it.
  A row without `lop` and `mon` only says who belongs to which group (a group head who teaches no class).

Importing adds to what is there (existing classes, assignments and members stay; a homeroom or group head named in
the file replaces the one before). Every line is checked first; any problem (unknown username, a person not of this
school, a malformed year, contradicting rows) is reported with its line number and nothing is written."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .chain_models import ClassTeacher, GroupMember, SchoolClass
from .errors import InvalidInput
from .events import record_event
from .models import Organisation, User
from .roster import check_class_name, check_group, check_subject, find_class, teacher_of_school
from .school_year import check_school_year

COLUMNS = ("nam_hoc", "lop", "mon", "giao_vien", "gvcn", "to_chuyen_mon", "to_truong")
REQUIRED = ("nam_hoc", "lop", "mon", "giao_vien")
YES = frozenset({"x", "1", "có", "co", "yes", "true", "c"})
MAX_ROWS = 20_000


@dataclass
class RosterImport:
    years: list[str] = field(default_factory=list)
    classes_created: list[str] = field(default_factory=list)
    homerooms_set: int = 0
    teachers_added: int = 0
    members_added: int = 0
    heads_set: int = 0
    lines: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Plan:
    homeroom: dict[tuple[str, str], tuple[int, User]] = field(
        default_factory=dict
    )  # (year, class) -> line, user
    classes: dict[tuple[str, str], int] = field(default_factory=dict)  # (year, class) -> first line
    teaching: dict[tuple[str, str, str, int], User] = field(
        default_factory=dict
    )  # year, class, subject, user id
    members: dict[tuple[str, str, int], tuple[User, bool]] = field(
        default_factory=dict
    )  # year, group, user id
    heads: dict[tuple[str, str], tuple[int, User]] = field(
        default_factory=dict
    )  # (year, group) -> line, head


def _fail(errors: list[tuple[int, str, str]]) -> InvalidInput:
    errors.sort()
    return InvalidInput(
        "Không nhập gì; lỗi: " + "; ".join(f"dòng {n}: {vi}" for n, vi, _ in errors),
        "Nothing imported; errors: " + "; ".join(f"line {n}: {en}" for n, _, en in errors),
        code="csv_invalid",
        extra={"lines": [{"line": n, "message_vi": vi, "message_en": en} for n, vi, en in errors]},
    )


def _plan(session: Session, school: Organisation, text: str) -> tuple[_Plan, int]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        raise InvalidInput(
            f"Thiếu cột: {', '.join(missing)} (các cột: {','.join(COLUMNS)})",
            f"Missing columns: {', '.join(missing)} (columns: {','.join(COLUMNS)})",
            code="csv_columns",
        )
    plan, errors, lines = _Plan(), [], 0
    people: dict[str, User | InvalidInput] = {}

    def person(name: str) -> User:
        if name not in people:
            try:
                people[name] = teacher_of_school(session, school, name)
            except InvalidInput as exc:
                people[name] = exc
        found = people[name]
        if isinstance(found, InvalidInput):
            raise found
        return found

    for lineno, raw in enumerate(reader, start=2):
        lines += 1
        if lines > MAX_ROWS:
            raise InvalidInput(
                f"Tệp có quá {MAX_ROWS} dòng", f"More than {MAX_ROWS} lines", code="csv_too_long"
            )
        row = {k: " ".join((raw.get(k) or "").split()) for k in COLUMNS}
        if not any(row.values()):
            continue  # a blank line, as spreadsheets leave at the end
        try:
            _line(plan, row, lineno, person)
        except InvalidInput as exc:
            errors.append((lineno, exc.message_vi, exc.message_en))
    if errors:
        raise _fail(errors)
    if not lines:
        raise InvalidInput("Tệp CSV không có dòng nào", "The CSV file has no rows", code="csv_empty")
    return plan, lines


def _line(plan: _Plan, row: dict[str, str], lineno: int, person: Any) -> None:
    year = check_school_year(row["nam_hoc"])
    cls, subject, teacher, group = row["lop"], row["mon"], row["giao_vien"], row["to_chuyen_mon"]
    head = row["to_truong"].lower() in YES
    if row["to_truong"] and not head and row["to_truong"].lower() not in {"", "0", "không", "khong", "no"}:
        raise InvalidInput(
            f"cột to_truong ghi {row['to_truong']!r}: đánh dấu x nếu là tổ trưởng",
            f"to_truong is {row['to_truong']!r}: mark x for the group head",
        )
    if bool(subject) != bool(teacher) and cls:
        raise InvalidInput("cần cả môn học (mon) và giáo viên (giao_vien)", "mon and giao_vien go together")
    if not cls and (subject or row["gvcn"]):
        raise InvalidInput("thiếu tên lớp (lop)", "the class (lop) is missing")
    if not cls and not (teacher and group):
        raise InvalidInput(
            "dòng không có lớp chỉ dùng để ghi tổ chuyên môn: cần giao_vien và to_chuyen_mon",
            "a row without a class names a group member: giao_vien and to_chuyen_mon are needed",
        )
    if head and not group:
        raise InvalidInput("đánh dấu tổ trưởng nhưng thiếu tên tổ", "group head marked without a group")
    if group and not teacher:
        raise InvalidInput("ghi tổ chuyên môn nhưng thiếu giáo viên", "a group without giao_vien")
    # every username of the line is looked up, so each unknown one is reported
    problems = []
    users: dict[str, User] = {}
    for name in {n for n in (teacher, row["gvcn"]) if n}:
        try:
            users[name] = person(name)
        except InvalidInput as exc:
            problems.append(exc)
    if problems:
        raise InvalidInput(
            "; ".join(p.message_vi for p in problems), "; ".join(p.message_en for p in problems)
        )
    if cls:
        cls = check_class_name(cls)
        plan.classes.setdefault((year, cls), lineno)
        if row["gvcn"]:
            homeroom = users[row["gvcn"]]
            before = plan.homeroom.get((year, cls))
            if before is not None and before[1].id != homeroom.id:
                raise InvalidInput(
                    f"lớp {cls} có GVCN {before[1].username} ở dòng {before[0]}, ở đây là {homeroom.username}",
                    f"class {cls} has homeroom {before[1].username} on line {before[0]}, here {homeroom.username}",
                )
            plan.homeroom[(year, cls)] = (lineno, homeroom)
        if subject:
            plan.teaching[(year, cls, check_subject(subject), users[teacher].id)] = users[teacher]
    if group:
        group = check_group(group)
        user = users[teacher]
        key = (year, group, user.id)
        plan.members[key] = (user, head or plan.members.get(key, (user, False))[1])
        if head:
            before_head = plan.heads.get((year, group))
            if before_head is not None and before_head[1].id != user.id:
                raise InvalidInput(
                    f"tổ {group} đã có tổ trưởng {before_head[1].username} ở dòng {before_head[0]}",
                    f"group {group} already has head {before_head[1].username} on line {before_head[0]}",
                )
            plan.heads[(year, group)] = (lineno, user)


def import_roster(session: Session, school: Organisation, text: str, *, actor: User | None) -> RosterImport:
    """Check every line, then write it all in the caller's transaction (see the module's rules)."""
    plan, lines = _plan(session, school, text)
    result = RosterImport(lines=lines)
    classes: dict[tuple[str, str], SchoolClass] = {}
    for year, name in plan.classes:
        found = find_class(session, school.id, year, name)
        if found is None:
            found = SchoolClass(school_id=school.id, school_year=year, name=name)
            session.add(found)
            result.classes_created.append(f"{name} ({year})")
        classes[(year, name)] = found
    session.flush()
    for key, (_, user) in plan.homeroom.items():
        if classes[key].homeroom_id != user.id:
            classes[key].homeroom_id = user.id
            result.homerooms_set += 1
    for (year, name, subject, user_id), _user in plan.teaching.items():
        found = classes[(year, name)]
        if not any(t.subject == subject and t.user_id == user_id for t in found.teachers):
            found.teachers.append(ClassTeacher(subject=subject, user_id=user_id))
            result.teachers_added += 1
    for (year, group, user_id), (_user, _head) in plan.members.items():
        exists = session.scalar(
            select(GroupMember).where(
                GroupMember.school_id == school.id,
                GroupMember.school_year == year,
                GroupMember.group_name == group,
                GroupMember.user_id == user_id,
            )
        )
        if exists is None:
            session.add(GroupMember(school_id=school.id, school_year=year, group_name=group, user_id=user_id))
            result.members_added += 1
    session.flush()
    for (year, group), (_, head) in plan.heads.items():
        for m in session.scalars(
            select(GroupMember).where(
                GroupMember.school_id == school.id,
                GroupMember.school_year == year,
                GroupMember.group_name == group,
            )
        ):
            m.is_head = m.user_id == head.id
        result.heads_set += 1
    result.years = sorted({y for y, _ in plan.classes} | {y for y, _, _ in plan.members})
    record_event(
        session,
        "roster.import",
        actor=actor,
        organisation_id=school.id,
        detail={"school": school.code} | result.to_dict(),
    )
    return result
