"""The Phòng / Sở roll-up of the year overview: one line per school in the inspector's scope — records stored,
signed, awaiting a signature, empty cells of its grid, locked types, damaged copies, lesson plans lacking "Rút kinh
nghiệm". Whose schools: the permission matrix (archive/permissions.py: document.read), as for the inspection
packages — a Phòng inspector its district's THCS schools, a Sở inspector the province's THPT and GDTX schools.

A fixed number of queries whatever the number of schools (the schools, one grouped count, the grid's shape, the
locks); a school without a record of the year is listed with zeros: that is what the Phòng needs to see first.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from .errors import InvalidInput, PermissionDenied
from .locks import list_locks
from .models import Organisation, RoleAssignment, User
from .orgs import get_organisation
from .permissions import OrgFacts, authorize, covers, record_denial, school_ids_for
from .year_overview import Cell, cell_of, counts

ACTION = "document.read"
INSPECTOR_OF_KIND = {"phong": "inspector_phong", "so": "inspector_so"}


@dataclass
class SchoolYear:
    code: str
    name: str
    levels: list[str]
    counts: Cell
    missing: int  # empty cells of the school's grid (archive.year_overview.Overview.missing)
    locked: int  # record types locked for the year

    @property
    def levels_vi(self) -> str:
        return ", ".join("nhiều cấp" if lv == "multi" else lv for lv in self.levels)


@dataclass
class Rollup:
    year: str
    org_code: str  # the Phòng or Sở reported for ("" when the scope is not one organisation's)
    org_name: str
    parent_name: str  # the body above it, for the report's header
    schools: list[SchoolYear] = field(default_factory=list)

    def totals(self) -> Cell:
        out = Cell()
        for s in self.schools:
            out.add(s.counts)
        return out


def _reporting_org(session: Session, user: User, org_code: str | None) -> Organisation | None:
    """The Phòng or Sở asked for, which the person must belong to (or be the system administrator); without a code,
    the one inspecting organisation the person holds a role in, if there is exactly one."""
    if org_code:
        org = get_organisation(session, org_code)
        if org.kind not in INSPECTOR_OF_KIND:
            raise InvalidInput(
                f"{org.name} không phải Phòng hay Sở GDĐT.", f"{org.code} is not a Phòng or Sở.", code="not_inspecting_org"
            )  # fmt: skip
        held = session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.user_id == user.id, RoleAssignment.organisation_id == org.id
            )
        )
        if held is None and not user.is_system_admin:
            record_denial(session, user, ACTION, org.id, detail={"action": ACTION, "organisation": org.code})
            raise PermissionDenied(
                f"Bạn không thuộc {org.name}.", f"You do not belong to {org.code}.", code="forbidden"
            )
        return org
    orgs = list(
        session.scalars(
            select(Organisation)
            .join(RoleAssignment, RoleAssignment.organisation_id == Organisation.id)
            .where(RoleAssignment.user_id == user.id, Organisation.kind.in_(tuple(INSPECTOR_OF_KIND)))
            .distinct()
        )
    )
    return orgs[0] if len(orgs) == 1 else None


def year_rollup(
    session: Session,
    user: User,
    year: str,
    *,
    org_code: str | None = None,
    scopes: frozenset[str] | None = None,
) -> Rollup:
    ids = school_ids_for(session, user, ACTION, scopes=scopes)
    if ids == []:
        authorize(session, user, ACTION, None, scopes=scopes)  # reaches no school at all: refused, recorded
    org = _reporting_org(session, user, org_code)
    parent = aliased(Organisation)
    stmt = (
        select(Organisation, parent.parent_id)
        .outerjoin(parent, Organisation.parent_id == parent.id)
        .where(Organisation.kind == "truong")
        .order_by(Organisation.code)
    )
    if ids is not None:
        stmt = stmt.where(Organisation.id.in_(ids))
    rows = session.execute(stmt).tuples().all()
    if org is not None:
        # the schools that organisation's inspectors answer for (a Phòng: its THCS; a Sở: THPT and GDTX), by the
        # permission matrix's own rule: the system administrator's report for a Sở holds no THCS school either
        role, held = INSPECTOR_OF_KIND[org.kind], OrgFacts.of(org)
        rows = [
            (o, g)
            for o, g in rows
            if covers(role, held, OrgFacts(o.id, o.kind, tuple(o.levels), o.parent_id, g))
        ]
    schools = [o for o, _ in rows]
    school_ids = [s.id for s in schools]
    above = org.parent if org is not None else None
    out = Rollup(
        year, org.code if org else "", org.name if org else "", above.name if above is not None else ""
    )
    if not school_ids:
        return out
    # one grouped pass by school, class and type: each school's totals, and its grid's shape (rows, columns, cells
    # filled) for the cells missing, from the same rows
    per_school: dict[int, Cell] = defaultdict(Cell)
    types: dict[int, set[str]] = defaultdict(set)
    classes: dict[int, set[str]] = defaultdict(set)
    cells: dict[int, int] = defaultdict(int)
    for row in counts(session, school_ids, year, ("school_id", "klass", "type_code")):
        per_school[row.school_id].add(cell_of(row))
        types[row.school_id].add(row.type_code)
        classes[row.school_id].add(row.klass)
        cells[row.school_id] += 1
    locked: dict[int, set[str]] = defaultdict(set)
    for lock in list_locks(session, school_ids, year=year):
        locked[lock.school_id].add(lock.type_code)
    for s in schools:
        columns = len(types[s.id] | locked[s.id])
        missing = len(classes[s.id]) * columns - cells[s.id]
        out.schools.append(SchoolYear(s.code, s.name, s.levels, per_school[s.id], missing, len(locked[s.id])))
    return out


def rollup_csv(r: Rollup) -> str:
    """One line per school, for a spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["nam_hoc", "truong", "ten_truong", "cap_hoc", "so_ho_so", "da_ky", "cho_ky", "o_con_thieu",
                "loai_da_khoa", "ban_sao_hong", "thieu_rut_kinh_nghiem"])  # fmt: skip
    for s in r.schools:
        c = s.counts
        w.writerow([r.year, s.code, s.name, s.levels_vi, c.stored, c.signed, c.awaiting, s.missing, s.locked,
                    c.damaged, c.lacking_rkn])  # fmt: skip
    return buf.getvalue()
