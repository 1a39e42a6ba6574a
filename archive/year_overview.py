"""The year overview: for one school and school year, a grid of classes × record types — how many records are stored,
signed, awaiting a signature, whether the type is locked, lesson plans lacking "Rút kinh nghiệm", damaged copies —
and the roll-up of the same counts per school for the inspectors of a Phòng or Sở (archive/year_rollup.py).
Withdrawn and disposed records do not count.

Both are set-based: one grouped query over the documents of the schools asked for (`counts`), whatever their number,
never a query per school, class or record. A new measure is one `Cell` field and one line of `_measures`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from .chain_models import SigningRequest
from .content_checks import RUT_KINH_NGHIEM, ContentCheck
from .correction_models import CorrectionRequest
from .errors import NotFound
from .finding import DAMAGED_STATES
from .locks import list_locks
from .models import Document, DocumentType, Organisation, ReplicaCopy, StoredObject, User, Version
from .permissions import authorize

NO_CLASS = ""  # records of the whole school (sổ đăng bộ …): their own row


@dataclass
class Cell:
    stored: int = 0
    signed: int = 0  # the current version carries a signature
    awaiting: int = 0  # a step of its signing chain waits for someone
    damaged: int = 0  # a copy of one of its files is missing or corrupt
    lacking_rkn: int = 0  # lesson plans whose current version has no "Rút kinh nghiệm" section
    corrected: int = 0  # records changed after the lock through an approved correction (CV 1370 Phụ lục II.2)

    def add(self, other: Cell) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


MEASURES = tuple(f.name for f in fields(Cell))


@dataclass
class Overview:
    school: str
    school_name: str
    year: str
    types: list[tuple[str, str]]  # (code, Vietnamese name) of the columns
    classes: list[str]  # the rows; NO_CLASS last
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (class, type) → cell
    locked: set[str] = field(default_factory=set)  # type codes locked for this year
    parent_name: str = ""  # the Phòng or Sở the school reports to (the PDF's header)

    def cell(self, class_name: str, type_code: str) -> Cell:
        return self.cells.get((class_name, type_code), Cell())

    @property
    def missing(self) -> int:
        """Empty cells of the grid: a class without a record of a type some class of the school has."""
        return len(self.classes) * len(self.types) - sum(1 for c in self.cells.values() if c.stored)

    def totals(self) -> Cell:
        out = Cell()
        for c in self.cells.values():
            out.add(c)
        return out

    def type_totals(self, type_code: str) -> Cell:
        out = Cell()
        for k in self.classes:
            out.add(self.cell(k, type_code))
        return out


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


GROUPS = ("school_id", "klass", "type_code")  # what `counts` may group by


def counts(session: Session, school_ids: Sequence[int], year: str, by: Sequence[str]) -> list[Any]:
    """Rows of (*by, *MEASURES) for the active records of `school_ids` in `year`, grouped by the GROUPS named in `by`
    ("klass" is the class, NO_CLASS for records of the whole school)."""
    if not school_ids:
        return []
    # One row per document; its current version's facts packed in one number by a subquery per document: the highest
    # version number with, in the two low bits, whether that version is signed and whether it lacks "Rút kinh
    # nghiệm". Per document, so each is one probe of the covering versions index (migration 0020): a join let
    # PostgreSQL read every version of the province to keep a few percent of them.
    lacks_rkn = (
        select(ContentCheck.id)
        .where(
            ContentCheck.version_id == Version.id,
            ContentCheck.name == RUT_KINH_NGHIEM,
            ContentCheck.result == "missing",
        )
        .exists()
    )
    latest = (
        select(
            func.max(
                Version.number * 4
                + case((Version.signed.is_(True), 2), else_=0)
                + case((lacks_rkn, 1), else_=0)
            )
        )
        .where(Version.document_id == Document.id)
        .correlate(Document)
        .scalar_subquery()
    )
    per_doc = (
        select(
            Document.id.label("id"),
            Document.school_id.label("school_id"),
            func.coalesce(Document.class_name, literal(NO_CLASS)).label("klass"),
            Document.type_code.label("type_code"),
            latest.label("latest"),
        )
        .where(Document.school_id.in_(school_ids), Document.school_year == year, Document.status == "active")
        .subquery()
    )
    waiting = select(SigningRequest.document_id).where(SigningRequest.status == "waiting")
    # from the damaged copies (few, indexed by state) to their documents, not from every document to its copies; the
    # content object is found by its digest (indexed on versions), not by its key built from each version's digest
    damaged = (
        select(Version.document_id)
        .join(StoredObject, and_(StoredObject.sha256 == Version.sha256, StoredObject.kind == "content"))
        .join(ReplicaCopy, ReplicaCopy.object_id == StoredObject.id)
        .where(ReplicaCopy.state.in_(DAMAGED_STATES))
    )
    corrected = select(CorrectionRequest.document_id).where(CorrectionRequest.status == "applied")
    measures = {
        "stored": func.count(per_doc.c.id),
        "signed": _flag(per_doc.c.latest % 4 >= 2),
        "awaiting": _flag(per_doc.c.id.in_(waiting)),
        "damaged": _flag(per_doc.c.id.in_(damaged)),
        "lacking_rkn": _flag(per_doc.c.latest % 2 == 1),
        "corrected": _flag(per_doc.c.id.in_(corrected)),
    }
    assert tuple(measures) == MEASURES and set(by) <= set(GROUPS)
    keys = [per_doc.c[name] for name in by]
    stmt = select(*keys, *(m.label(name) for name, m in measures.items())).group_by(*keys)
    return list(session.execute(stmt))


def cell_of(row: Any) -> Cell:
    return Cell(**{name: int(getattr(row, name)) for name in MEASURES})


def year_overview(session: Session, school: Organisation, year: str) -> Overview:
    rows = counts(session, [school.id], year, ("klass", "type_code"))
    names = dict(session.execute(select(DocumentType.code, DocumentType.name_vi)).tuples().all())
    parent = school.parent
    ov = Overview(
        school.code, school.name, year, [], [], parent_name=parent.name if parent is not None else ""
    )
    ov.cells = {(r.klass, r.type_code): cell_of(r) for r in rows}
    ov.locked = {lock.type_code for lock in list_locks(session, [school.id], year=year)}
    used = {t for _, t in ov.cells} | ov.locked
    ov.types = sorted(((t, names.get(t, t)) for t in used), key=lambda x: x[1])
    classes = {k for k, _ in ov.cells}
    ov.classes = sorted(classes - {NO_CLASS}, key=_class_order) + ([NO_CLASS] if NO_CLASS in classes else [])
    return ov


def school_overview(
    session: Session, user: User, code: str, year: str, *, scopes: frozenset[str] | None = None
) -> tuple[Overview, Organisation]:
    """The overview of the school `code`, which the person must be allowed to read (a refusal is recorded)."""
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None or org.kind != "truong":
        raise NotFound(f"Không có trường {code}", f"No school {code}", code="school_not_found")
    authorize(session, user, "document.read", org, scopes=scopes)
    return year_overview(session, org, year), org


def _class_order(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name[:2] if ch.isdigit())
    return (int(digits) if digits else 99, name)


def overview_csv(ov: Overview) -> str:
    """One line per (class, type): what the grid shows, for a spreadsheet or to send upward."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["truong", "nam_hoc", "lop", "loai_ho_so", "ten_loai", "so_ho_so", "da_ky", "cho_ky", "ban_sao_hong",
                "thieu_rut_kinh_nghiem", "da_khoa", "cho_ky"])  # fmt: skip
    for klass in ov.classes:
        for code, name in ov.types:
            c = ov.cell(klass, code)
            w.writerow([ov.school, ov.year, klass or "(toàn trường)", code, name, c.stored, c.signed, c.damaged,
                        c.lacking_rkn, "có" if code in ov.locked else "không", c.awaiting])  # fmt: skip
    return buf.getvalue()
