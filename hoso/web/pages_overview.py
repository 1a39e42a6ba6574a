"""Tổng quan năm học: the grid of classes × record types of one school year (archive/year_overview.py) for the school's
people and for the inspectors over it (document.read decides whose schools), with a CSV export and a sealed PDF report
to send upward (retention/overview_report.py); and "Các trường", the Phòng / Sở roll-up of the same year per school
(archive/year_rollup.py), each school linking to its grid, as CSV and PDF too."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from archive import finding
from archive.errors import PermissionDenied
from archive.models import Document, Organisation
from archive.school_year import check_school_year, current_school_year
from archive.year_overview import Overview, overview_csv, school_overview
from archive.year_rollup import Rollup, rollup_csv, year_rollup
from hoso.web.common import Viewer, WebRoute, archive_of, render, viewer
from retention.overview_report import overview_report, report_filename, rollup_report

router = APIRouter(route_class=WebRoute, include_in_schema=False)
YEAR = Query("", max_length=20)
ORG = Query("", max_length=32)


def _year(year: str) -> str:
    return check_school_year(year) if year else current_school_year(date.today())


def _load(
    request: Request, who: Viewer, school: str, year: str
) -> tuple[Overview, list[tuple[str, str]], list[str], Organisation]:
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        ids = finding.visible_school_ids(session, user, finding.DocumentFilter())
        stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
        if ids is not None:
            stmt = stmt.where(Organisation.id.in_(ids))
        schools = list(session.scalars(stmt))
        if not schools:
            raise PermissionDenied(
                "Tài khoản của bạn chưa xem được hồ sơ của trường nào.", "Your account reaches no school yet."
            )
        year = _year(year)
        # a school named outside the person's reach is refused and recorded, never swapped for another
        ov, chosen = school_overview(session, user, school or schools[0].code, year)
        years = sorted(
            set(
                session.scalars(
                    select(Document.school_year).where(Document.school_id == chosen.id).distinct()
                )
            )
            | {year},
            reverse=True,
        )
        session.expunge(chosen)
        return ov, [(o.code, o.name) for o in schools], years, chosen


def _rollup(request: Request, who: Viewer, year: str, org: str) -> Rollup:
    with archive_of(request).sessions() as session:
        return year_rollup(session, session.merge(who.user), _year(year), org_code=org or None)


def _download(body: str | bytes, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    return Response(body, media_type=media_type, headers=headers)


def _csv(text: str, name: str) -> Response:
    # a BOM so spreadsheet programs read the Vietnamese text as UTF-8
    return _download("\ufeff" + text, "text/csv; charset=utf-8", name)


@router.get("/tong-quan")
def overview_page(
    request: Request, school: str = "", year: str = YEAR, who: Viewer = Depends(viewer)
) -> Response:
    ov, schools, years, _ = _load(request, who, school, year)
    return render(request, "overview.html", ov=ov, schools=schools, years=years)


@router.get("/tong-quan.csv")
def overview_export(
    request: Request, school: str = "", year: str = YEAR, who: Viewer = Depends(viewer)
) -> Response:
    ov, _, _, _ = _load(request, who, school, year)
    return _csv(overview_csv(ov), f"tong-quan_{ov.school}_{ov.year}.csv")


@router.get("/tong-quan.pdf")
def overview_pdf(
    request: Request, school: str = "", year: str = YEAR, who: Viewer = Depends(viewer)
) -> Response:
    ov, _, _, chosen = _load(request, who, school, year)
    pdf = overview_report(archive_of(request), ov, school=chosen, actor=who.user)
    return _download(pdf, "application/pdf", report_filename("bao-cao-tong-quan", ov.school, ov.year))


@router.get("/tong-quan/cac-truong")
def rollup_page(
    request: Request, year: str = YEAR, org: str = ORG, who: Viewer = Depends(viewer)
) -> Response:
    ru = _rollup(request, who, year, org)
    years = sorted(
        {ru.year, *(current_school_year(date(date.today().year - n, 12, 1)) for n in range(5))}, reverse=True
    )
    return render(request, "overview_rollup.html", ru=ru, years=years, totals=ru.totals())


@router.get("/tong-quan/cac-truong.csv")
def rollup_export(
    request: Request, year: str = YEAR, org: str = ORG, who: Viewer = Depends(viewer)
) -> Response:
    ru = _rollup(request, who, year, org)
    return _csv(rollup_csv(ru), f"tong-hop_{ru.org_code or 'cac-truong'}_{ru.year}.csv")


@router.get("/tong-quan/cac-truong.pdf")
def rollup_pdf(request: Request, year: str = YEAR, org: str = ORG, who: Viewer = Depends(viewer)) -> Response:
    ru = _rollup(request, who, year, org)
    pdf = rollup_report(archive_of(request), ru, actor=who.user)
    return _download(pdf, "application/pdf", report_filename("bao-cao-tong-hop", ru.org_code, ru.year))
