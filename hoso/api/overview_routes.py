"""The year overview for machines: one school's grid (archive/year_overview.py), the Phòng / Sở roll-up of its schools
(archive/year_rollup.py), and both as the sealed PDF report to send upward (retention/overview_report.py). The same
scope as the pages: document.read decides whose schools."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from archive.models import Organisation
from archive.school_year import check_school_year
from archive.year_overview import Overview, school_overview
from archive.year_rollup import Rollup, year_rollup
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from retention.overview_report import overview_report, report_filename, rollup_report

router = APIRouter(tags=["overview"])
Year = Annotated[str, Query(max_length=20, description="School year, e.g. 2024-2025")]
PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The report, sealed by the system",
    }
}


class Counts(BaseModel):
    stored: int
    signed: int
    awaiting: int
    damaged: int
    lacking_rkn: int


class TypeColumn(BaseModel):
    code: str
    name: str
    locked: bool


class GridCell(Counts):
    class_name: str | None
    type: str


class OverviewOut(BaseModel):
    school: str
    school_name: str
    year: str
    types: list[TypeColumn]
    classes: list[str | None]
    cells: list[GridCell]
    missing: int
    totals: Counts

    @classmethod
    def of(cls, ov: Overview) -> OverviewOut:
        return cls(
            school=ov.school, school_name=ov.school_name, year=ov.year,
            types=[TypeColumn(code=c, name=n, locked=c in ov.locked) for c, n in ov.types],
            classes=[k or None for k in ov.classes],
            cells=[GridCell(class_name=k or None, type=t, **asdict(c)) for (k, t), c in ov.cells.items()],
            missing=ov.missing, totals=Counts(**asdict(ov.totals())),
        )  # fmt: skip


class SchoolLine(Counts):
    school: str
    name: str
    levels: list[str]
    missing: int
    locked: int


class RollupOut(BaseModel):
    year: str
    organisation: str | None
    schools: list[SchoolLine]
    totals: Counts

    @classmethod
    def of(cls, ru: Rollup) -> RollupOut:
        return cls(
            year=ru.year, organisation=ru.org_code or None, totals=Counts(**asdict(ru.totals())),
            schools=[
                SchoolLine(school=s.code, name=s.name, levels=s.levels, missing=s.missing, locked=s.locked,
                           **asdict(s.counts))  # fmt: skip
                for s in ru.schools
            ],
        )  # fmt: skip


def _overview(archive: ArchiveDep, guard: Guard, school: str, year: str) -> tuple[Overview, Organisation]:
    with archive.sessions() as session:
        user = session.merge(guard.user)
        ov, org = school_overview(session, user, school, check_school_year(year), scopes=guard.scopes)
        session.expunge(org)
        return ov, org


def _rollup(archive: ArchiveDep, guard: Guard, year: str, org: str | None) -> Rollup:
    with archive.sessions() as session:
        user = session.merge(guard.user)
        return year_rollup(session, user, check_school_year(year), org_code=org, scopes=guard.scopes)


def _pdf(pdf: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get(
    "/overview", summary="A school year's grid of classes × record types (stored, signed, awaiting …)"
)
def get_overview(school: str, year: Year, archive: ArchiveDep, guard: GuardDep) -> OverviewOut:
    return OverviewOut.of(_overview(archive, guard, school, year)[0])


@router.get(
    "/overview/report",
    summary="The year overview as a PDF report sealed by the system",
    response_class=Response,
    responses=PDF,
)
def get_overview_report(school: str, year: Year, archive: ArchiveDep, guard: GuardDep) -> Response:
    ov, org = _overview(archive, guard, school, year)
    pdf = overview_report(archive, ov, school=org, actor=guard.user)
    return _pdf(pdf, report_filename("bao-cao-tong-quan", ov.school, ov.year))


@router.get("/overview/schools", summary="The roll-up of a Phòng's or Sở's schools (those I may read)")
def get_rollup(
    year: Year, archive: ArchiveDep, guard: GuardDep, org: Annotated[str | None, Query(max_length=32)] = None
) -> RollupOut:
    return RollupOut.of(_rollup(archive, guard, year, org))


@router.get(
    "/overview/schools/report",
    summary="The roll-up as a PDF report sealed by the system",
    response_class=Response,
    responses=PDF,
)
def get_rollup_report(
    year: Year, archive: ArchiveDep, guard: GuardDep, org: Annotated[str | None, Query(max_length=32)] = None
) -> Response:
    ru = _rollup(archive, guard, year, org)
    return _pdf(
        rollup_report(archive, ru, actor=guard.user),
        report_filename("bao-cao-tong-hop", ru.org_code, ru.year),
    )
