"""A school's classes, homeroom and subject teachers and professional groups per school year (issue 10, item 3):
CSV import, the roster of a year, and the edits the page "Phân công giảng dạy" makes. Reading needs
`document.read` at the school; changing needs `roster.manage` (school administrator, principal, system
administrator). Rules are archive/roster.py's and archive/roster_csv.py's."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from archive import orgs, roster, roster_csv
from archive.models import Organisation
from archive.school_year import check_school_year, current_school_year
from hoso.api.deps import ArchiveDep, GuardDep

router = APIRouter(tags=["roster"])
BASE = "/organisations/{code}/roster"


class PersonOut(BaseModel):
    username: str
    full_name: str


class TeachingOut(BaseModel):
    id: int = Field(description="The assignment's id (to remove it)")
    subject: str
    teacher: PersonOut


class ClassOut(BaseModel):
    name: str
    homeroom: PersonOut | None = Field(description="Giáo viên chủ nhiệm")
    teachers: list[TeachingOut] = Field(description="Giáo viên bộ môn, by subject")

    @classmethod
    def of(cls, view: roster.ClassView) -> ClassOut:
        return cls.model_validate(view, from_attributes=True)


class GroupOut(BaseModel):
    name: str
    heads: list[PersonOut] = Field(description="Tổ trưởng (one, usually)")
    members: list[PersonOut]


class RosterOut(BaseModel):
    school: str
    school_year: str
    classes: list[ClassOut]
    groups: list[GroupOut]

    @classmethod
    def of(cls, view: roster.Roster) -> RosterOut:
        return cls.model_validate(view, from_attributes=True)


class RosterImportOut(BaseModel):
    years: list[str]
    classes_created: list[str] = Field(description="Classes the file added, as 'name (year)'")
    homerooms_set: int
    teachers_added: int
    members_added: int
    heads_set: int
    lines: int = Field(description="Rows read")


class HomeroomIn(BaseModel):
    username: str | None = Field(default=None, max_length=64, description="None: no homeroom teacher")


class TeachingIn(BaseModel):
    subject: str = Field(max_length=100)
    username: str = Field(max_length=64)


class HeadIn(BaseModel):
    username: str = Field(max_length=64)


def _class_view(session: Session, school: Organisation, year: str, name: str) -> ClassOut:
    found = next(c for c in roster.roster_of(session, school, year).classes if c.name == name)
    return ClassOut.of(found)


@router.post(
    BASE,
    summary="Import classes, teachers and groups from CSV (nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,"
    "to_truong); all or nothing, every bad line reported",
)
def import_roster(
    code: str, file: Annotated[UploadFile, File()], guard: GuardDep, archive: ArchiveDep
) -> RosterImportOut:
    text = orgs.decode_csv(file.file.read())
    with archive.sessions() as session, session.begin():
        school = roster.roster_school(session, code)
        actor = guard.check(session, "roster.manage", school)
        result = roster_csv.import_roster(session, school, text, actor=actor)
    return RosterImportOut(**result.to_dict())


@router.get(BASE, summary="The roster of one school year (default: the current one)")
def get_roster(code: str, guard: GuardDep, archive: ArchiveDep, year: str | None = None) -> RosterOut:
    school_year = check_school_year(year) if year else current_school_year(date.today())
    with archive.sessions() as session:
        school = roster.roster_school(session, code)
        guard.check(session, "document.read", school)
        return RosterOut.of(roster.roster_of(session, school, school_year))


@router.put(
    BASE + "/{year}/classes/{class_name}/homeroom", summary="Set (or clear) a class's homeroom teacher"
)
def set_homeroom(
    code: str, year: str, class_name: str, body: HomeroomIn, guard: GuardDep, archive: ArchiveDep
) -> ClassOut:
    year = check_school_year(year)
    with archive.sessions() as session, session.begin():
        school = roster.roster_school(session, code)
        actor = guard.check(session, "roster.manage", school)
        found = roster.set_homeroom(session, school, year, class_name, body.username, actor=actor)
        session.flush()
        return _class_view(session, school, year, found.name)


@router.post(
    BASE + "/{year}/classes/{class_name}/teachers",
    status_code=201,
    summary="Add a subject teacher to a class",
)
def add_teacher(
    code: str, year: str, class_name: str, body: TeachingIn, guard: GuardDep, archive: ArchiveDep
) -> ClassOut:
    year = check_school_year(year)
    with archive.sessions() as session, session.begin():
        school = roster.roster_school(session, code)
        actor = guard.check(session, "roster.manage", school)
        roster.add_subject_teacher(
            session, school, year, class_name, body.subject, body.username, actor=actor
        )
        return _class_view(session, school, year, roster.check_class_name(class_name))


@router.delete(
    BASE + "/{year}/classes/{class_name}/teachers/{teaching_id}",
    status_code=204,
    summary="Remove a subject teacher's assignment",
)
def remove_teacher(
    code: str, year: str, class_name: str, teaching_id: int, guard: GuardDep, archive: ArchiveDep
) -> Response:
    year = check_school_year(year)
    with archive.sessions() as session, session.begin():
        school = roster.roster_school(session, code)
        actor = guard.check(session, "roster.manage", school)
        roster.remove_subject_teacher(session, school, year, class_name, teaching_id, actor=actor)
    return Response(status_code=204)


@router.put(BASE + "/{year}/groups/{group_name}/head", summary="Set a professional group's head")
def set_group_head(
    code: str, year: str, group_name: str, body: HeadIn, guard: GuardDep, archive: ArchiveDep
) -> GroupOut:
    year = check_school_year(year)
    with archive.sessions() as session, session.begin():
        school = roster.roster_school(session, code)
        actor = guard.check(session, "roster.manage", school)
        roster.set_group_head(session, school, year, group_name, body.username, actor=actor)
        session.flush()
        name = roster.check_group(group_name)
        return next(
            GroupOut.model_validate(g, from_attributes=True)
            for g in roster.roster_of(session, school, year).groups
            if g.name == name
        )
