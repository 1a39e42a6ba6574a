"""Tổng quan năm học: the grid of classes × record types of one school year (archive/year_overview.py) for the school's
people and for the inspectors over it (document.read decides whose schools), with a CSV export to send upward."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from archive import finding
from archive.errors import PermissionDenied
from archive.models import Document, Organisation
from archive.school_year import check_school_year, current_school_year
from archive.year_overview import Overview, overview_csv, year_overview
from hoso.web.common import Viewer, WebRoute, archive_of, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _load(
    request: Request, who: Viewer, school: str, year: str
) -> tuple[Overview, list[tuple[str, str]], list[str]]:
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
        chosen = next((o for o in schools if o.code == school), schools[0])
        year = check_school_year(year) if year else current_school_year(date.today())
        years = sorted(
            set(
                session.scalars(
                    select(Document.school_year).where(Document.school_id == chosen.id).distinct()
                )
            )
            | {year},
            reverse=True,
        )
        return year_overview(session, chosen, year), [(o.code, o.name) for o in schools], years


@router.get("/tong-quan")
def overview_page(
    request: Request, school: str = "", year: str = Query("", max_length=20), who: Viewer = Depends(viewer)
) -> Response:
    ov, schools, years = _load(request, who, school, year)
    return render(request, "overview.html", ov=ov, schools=schools, years=years)


@router.get("/tong-quan.csv")
def overview_export(
    request: Request, school: str = "", year: str = Query("", max_length=20), who: Viewer = Depends(viewer)
) -> Response:
    ov, _, _ = _load(request, who, school, year)
    name = f"tong-quan_{ov.school}_{ov.year}.csv"
    # a BOM so spreadsheet programs read the Vietnamese text as UTF-8
    return Response(
        "\ufeff" + overview_csv(ov), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
    )  # fmt: skip
