"""Khóa sổ: the principal locks and unlocks a school year's records per type; the school administrator may do it only
on a principal's instruction, named on the form and recorded (the same rule as the CLI and POST /api/v1/locks:
archive/locks.py). Every change is an event in the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import accounts, locks, orgs
from archive.errors import InvalidInput, PermissionDenied
from archive.models import Document, DocumentType, Organisation, RecordLock
from archive.permissions import authorize, school_ids_for
from archive.school_year import check_school_year, current_school_year
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PATH = "/khoa-so"
YEARS_BACK = 4  # the years offered besides those that hold records or locks


def _no_lock_right() -> PermissionDenied:
    return PermissionDenied(
        "Chỉ Hiệu trưởng (hoặc cán bộ quản trị theo chỉ đạo của Hiệu trưởng) được khóa / mở khóa sổ.",
        "Only the principal (or the school administrator on the principal's instruction) locks records.",
    )


def lock_schools(session: Session, who: Viewer) -> list[Organisation]:
    ids = school_ids_for(session, session.merge(who.user), "lock.manage")
    stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
    if ids is not None:
        stmt = stmt.where(Organisation.id.in_(ids))
    return list(session.scalars(stmt))


def _years(session: Session, school: Organisation) -> list[str]:
    now = current_school_year(date.today())
    start = int(now[:4])
    years = {f"{y}-{y + 1}" for y in range(start - YEARS_BACK, start + 1)}
    years |= set(
        session.scalars(select(Document.school_year).where(Document.school_id == school.id).distinct())
    )
    years |= set(
        session.scalars(select(RecordLock.school_year).where(RecordLock.school_id == school.id).distinct())
    )
    return sorted(years, reverse=True)


def _board(session: Session, school: Organisation, year: str) -> list[dict[str, Any]]:
    """One row per record type: how many records the year holds, and its lock (who, when, on whose word, why)."""
    counts = dict(
        session.execute(
            select(Document.type_code, func.count())
            .where(
                Document.school_id == school.id, Document.school_year == year, Document.status != "disposed"
            )
            .group_by(Document.type_code)
        ).all()
    )
    held = {x.type_code: x for x in locks.list_locks(session, [school.id], year=year)}
    rows = []
    for t in session.scalars(select(DocumentType).order_by(DocumentType.name_vi)):
        lock = held.get(t.code)
        rows.append(
            {
                "code": t.code,
                "name": t.name_vi,
                "name_en": t.name_en,
                "count": counts.get(t.code, 0),
                "lock": None
                if lock is None
                else {
                    "at": lock.locked_at,
                    "by": _person(lock.locked_by),
                    "instructed_by": _person(lock.instructed_by),
                    "reason": lock.reason,
                },
            }
        )
    return rows


def _person(user: Any) -> str | None:
    return (user.full_name or user.username) if user is not None else None


@router.get(PATH)
def lock_page(
    request: Request,
    school: str = "",
    year: str = Query("", max_length=20),
    done: str = Query("", pattern="^(|khoa|mo)$"),
    type_code: str = Query("", alias="type", max_length=64),
    who: Viewer = Depends(viewer),
) -> Response:
    with archive_of(request).sessions() as session:
        schools = lock_schools(session, who)
        if not schools:
            raise _no_lock_right()
        chosen = next((o for o in schools if o.code == school), schools[0])
        year = check_school_year(year) if year else current_school_year(date.today())
        user = session.merge(who.user)
        principal = locks.is_principal(session, user, chosen)
        principals = (
            []
            if principal
            else [(p.username, p.full_name or p.username) for p in locks.principals_of(session, chosen)]
        )
        changed = session.get(DocumentType, type_code) if type_code else None
        context: dict[str, Any] = {
            "schools": [(o.code, o.name) for o in schools],
            "school": chosen.code,
            "school_name": chosen.name,
            "year": year,
            "years": _years(session, chosen),
            "rows": _board(session, chosen, year),
            "principal": principal,
            "principals": principals,
            "done": done,
            "changed": changed.name_vi if changed else None,
        }
    return render(request, "locks.html", **context)


@router.post(PATH)
def lock_change(
    request: Request,
    school: str = Form(..., max_length=32),
    type_code: str = Form(..., alias="type", max_length=64),
    year: str = Form(..., max_length=20),
    action: str = Form(..., pattern="^(khoa|mo)$"),
    instructed_by: str = Form("", max_length=64),
    reason: str = Form("", max_length=500),
    who: Viewer = Depends(form_viewer),
) -> Response:
    with archive_of(request).sessions() as session, session.begin():
        org = orgs.get_organisation(session, school)
        actor = session.merge(who.user)
        authorize(session, actor, "lock.manage", org)
        instructed = accounts.get_user(session, instructed_by) if instructed_by else None
        if not locks.is_principal(session, actor, org) and instructed is None:
            raise InvalidInput(
                "Hãy chọn Hiệu trưởng đã chỉ đạo việc khóa / mở khóa này.",
                "Choose the principal who instructed this lock change.",
                code="instruction_required",
            )
        change = locks.add_lock if action == "khoa" else locks.remove_lock
        change(
            session, school=org, type_code=type_code, year=check_school_year(year), actor=actor,
            instructed_by=instructed, reason=reason.strip(),
        )  # fmt: skip
    query = urlencode({"school": school, "year": year, "done": action, "type": type_code})
    return RedirectResponse(f"{PATH}?{query}#loai-{type_code}", status_code=303)
