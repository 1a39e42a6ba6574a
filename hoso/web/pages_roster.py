"""Phân công giảng dạy: a school's classes with their homeroom and subject teachers, and its professional groups
with members and head, per school year; edited here or imported from CSV. For those holding `roster.manage` (school
administrator, principal; the system administrator everywhere). Every change goes through the API's own handlers
(hoso/api/roster_routes.py) with the viewer as their Guard, so the page and the API cannot drift apart."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from archive import roster
from archive.errors import ArchiveError, InvalidInput, PermissionDenied
from archive.models import Organisation
from archive.permissions import school_ids_for
from archive.school_year import check_school_year, current_school_year
from hoso.api import roster_routes
from hoso.api.deps import Guard
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
HERE = "/phan-cong"
SAMPLE = roster.__file__.rsplit("/", 1)[0] + "/data/phan-cong-mau.csv"


def _schools(request: Request, who: Viewer) -> list[Organisation]:
    with archive_of(request).sessions() as session:
        ids = school_ids_for(session, session.merge(who.user), "roster.manage")
        stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
        if ids is not None:
            stmt = stmt.where(Organisation.id.in_(ids))
        found = list(session.scalars(stmt))
        session.expunge_all()
    if not found:
        raise PermissionDenied(
            "Bạn không có quyền phân công giảng dạy ở trường nào",
            "You may not keep the roster of any school",
            code="forbidden",
        )
    return found


def _where(request: Request, who: Viewer, school: str, year: str) -> tuple[list[Organisation], str, str]:
    schools = _schools(request, who)
    code = school or schools[0].code
    if code not in {s.code for s in schools}:
        raise PermissionDenied(
            f"Bạn không có quyền phân công giảng dạy tại {code}", f"You may not keep the roster of {code}"
        )
    return schools, code, check_school_year(year) if year else current_school_year(date.today())


def _page(request: Request, who: Viewer, school: str, year: str, status: int = 200, **extra: Any) -> Response:
    schools, code, school_year = _where(request, who, school, year)
    archive = archive_of(request)
    view = roster_routes.get_roster(code, Guard(who.user, None), archive, school_year)
    with archive.sessions() as session:
        org = roster.roster_school(session, code)
        people = [(u.username, u.full_name or u.username) for u in roster.people_of_school(session, org)]
        years = roster.years_with_roster(session, org)
    years = sorted(set(years) | {school_year, current_school_year(date.today())}, reverse=True)
    return render(
        request,
        "roster.html",
        status_code=status,
        schools=schools,
        code=code,
        school_name=next(s.name for s in schools if s.code == code),
        year=school_year,
        years=years,
        roster=view.model_dump(),
        people=people,
        **extra,
    )


def _back(code: str, year: str, done: str, anchor: str = "") -> RedirectResponse:
    query = urlencode({"truong": code, "nam": year, "xong": done})
    return RedirectResponse(f"{HERE}?{query}{'#' + anchor if anchor else ''}", status_code=303)


@router.get("/phan-cong")
def roster_page(request: Request, truong: str = "", nam: str = "", who: Viewer = Depends(viewer)) -> Response:
    return _page(request, who, truong, nam, done=request.query_params.get("xong", ""))


@router.get("/phan-cong/mau.csv")
def sample(who: Viewer = Depends(viewer)) -> FileResponse:
    return FileResponse(SAMPLE, media_type="text/csv; charset=utf-8", filename="phan-cong-mau.csv")


@router.post("/phan-cong/nhap")
async def import_csv(
    request: Request,
    truong: str = Form("", max_length=20),
    nam: str = Form("", max_length=9),
    file: UploadFile | None = File(None),
    who: Viewer = Depends(form_viewer),
) -> Response:
    try:
        if file is None or not file.filename:
            raise InvalidInput("Chưa chọn tệp CSV.", "No CSV file chosen", code="missing_file")
        result = await run_in_threadpool(
            roster_routes.import_roster, truong, file, Guard(who.user, None), archive_of(request)
        )
    except ArchiveError as exc:
        lines = exc.extra.get("lines")
        listed = lines if isinstance(lines, list) else []
        return await run_in_threadpool(_refused, request, who, truong, nam, exc, "nhap", listed)
    year = result.years[0] if len(result.years) == 1 else nam
    return await run_in_threadpool(
        _page, request, who, truong, year, 200, imported=result.model_dump(), error_at=""
    )


def _refused(
    request: Request,
    who: Viewer,
    code: str,
    year: str,
    exc: ArchiveError,
    where: str,
    lines: list[Any] | None = None,
) -> Response:
    if isinstance(exc, PermissionDenied):
        raise exc
    return _page(
        request, who, code, year, exc.status, error=exc.message_vi, error_en=exc.message_en, error_at=where,
        error_lines=lines or [],
    )  # fmt: skip


@router.post("/phan-cong/{year}/lop/{class_name}/gvcn")
def set_homeroom(
    request: Request,
    year: str,
    class_name: str,
    truong: str = Form("", max_length=20),
    username: str = Form("", max_length=64),
    who: Viewer = Depends(form_viewer),
) -> Response:
    try:
        body = roster_routes.HomeroomIn(username=username or None)
        roster_routes.set_homeroom(truong, year, class_name, body, Guard(who.user, None), archive_of(request))
    except ArchiveError as exc:
        return _refused(request, who, truong, year, exc, f"lop-{class_name}")
    return _back(truong, year, "gvcn", f"lop-{class_name}")


@router.post("/phan-cong/{year}/lop/{class_name}/gvbm")
def add_teacher(
    request: Request,
    year: str,
    class_name: str,
    truong: str = Form("", max_length=20),
    subject: str = Form("", max_length=100),
    username: str = Form("", max_length=64),
    who: Viewer = Depends(form_viewer),
) -> Response:
    try:
        if not subject.strip() or not username:
            raise InvalidInput(
                "Cần nhập môn học và chọn giáo viên.",
                "A subject and a teacher are needed",
                code="bad_subject",
            )
        body = roster_routes.TeachingIn(subject=subject, username=username)
        roster_routes.add_teacher(truong, year, class_name, body, Guard(who.user, None), archive_of(request))
    except ArchiveError as exc:
        return _refused(request, who, truong, year, exc, f"lop-{class_name}")
    return _back(truong, year, "gvbm", f"lop-{class_name}")


@router.post("/phan-cong/{year}/lop/{class_name}/gvbm/{teaching_id}/go")
def remove_teacher(
    request: Request,
    year: str,
    class_name: str,
    teaching_id: int,
    truong: str = Form("", max_length=20),
    who: Viewer = Depends(form_viewer),
) -> Response:
    try:
        roster_routes.remove_teacher(
            truong, year, class_name, teaching_id, Guard(who.user, None), archive_of(request)
        )
    except ArchiveError as exc:
        return _refused(request, who, truong, year, exc, f"lop-{class_name}")
    return _back(truong, year, "go_gvbm", f"lop-{class_name}")


@router.post("/phan-cong/{year}/to/{group_name}/to-truong")
def set_head(
    request: Request,
    year: str,
    group_name: str,
    truong: str = Form("", max_length=20),
    username: str = Form("", max_length=64),
    who: Viewer = Depends(form_viewer),
) -> Response:
    try:
        body = roster_routes.HeadIn(username=username)
        roster_routes.set_group_head(
            truong, year, group_name, body, Guard(who.user, None), archive_of(request)
        )
    except ArchiveError as exc:
        return _refused(request, who, truong, year, exc, "to")
    return _back(truong, year, "to_truong", "to-chuyen-mon")
