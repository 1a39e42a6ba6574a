"""The year overview: for one school and school year, a grid of classes × record types — how many records are stored,
how many are signed, whether the type is locked, lesson plans lacking "Rút kinh nghiệm", damaged copies. Withdrawn
and disposed records do not count. "Who is awaited" joins the cells when the signing chains (issue 10) exist.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .content_checks import ContentCheck
from .corrections import corrected_documents
from .finding import damaged_ids
from .locks import list_locks
from .models import Document, DocumentType, Organisation

NO_CLASS = ""  # records of the whole school (sổ đăng bộ …): their own row


@dataclass
class Cell:
    stored: int = 0
    signed: int = 0
    damaged: int = 0
    lacking_rkn: int = 0  # lesson plans whose current version has no "Rút kinh nghiệm" section
    corrected: int = 0  # records changed after the lock through an approved correction (CV 1370 Phụ lục II.2)


@dataclass
class Overview:
    school: str
    school_name: str
    year: str
    types: list[tuple[str, str]]  # (code, Vietnamese name) of the columns
    classes: list[str]  # the rows; NO_CLASS last
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (class, type) → cell
    locked: set[str] = field(default_factory=set)  # type codes locked for this year

    def cell(self, class_name: str, type_code: str) -> Cell:
        return self.cells.get((class_name, type_code), Cell())


def year_overview(session: Session, school: Organisation, year: str) -> Overview:
    docs = list(
        session.scalars(
            select(Document).where(
                Document.school_id == school.id, Document.school_year == year, Document.status == "active"
            )
        )
    )
    damaged = damaged_ids(session, docs)
    current_ids = [d.current.id for d in docs if d.current is not None]
    lacking = set(
        session.scalars(
            select(ContentCheck.version_id).where(
                ContentCheck.version_id.in_(current_ids),
                ContentCheck.name == "rut_kinh_nghiem",
                ContentCheck.result == "missing",
            )
        )
    )
    corrected = corrected_documents(session, [d.id for d in docs])
    names = dict(session.execute(select(DocumentType.code, DocumentType.name_vi)).tuples().all())
    ov = Overview(school.code, school.name, year, [], [])
    for d in docs:
        c = ov.cells.setdefault((d.class_name or NO_CLASS, d.type_code), Cell())
        c.stored += 1
        c.signed += 1 if d.current is not None and d.current.signed else 0
        c.damaged += 1 if d.id in damaged else 0
        c.lacking_rkn += 1 if d.current is not None and d.current.id in lacking else 0
        c.corrected += 1 if d.id in corrected else 0
    ov.locked = {lock.type_code for lock in list_locks(session, [school.id], year=year)}
    used = {t for _, t in ov.cells} | ov.locked
    ov.types = sorted(((t, names.get(t, t)) for t in used), key=lambda x: x[1])
    classes = {k for k, _ in ov.cells}
    ov.classes = sorted(classes - {NO_CLASS}, key=_class_order) + ([NO_CLASS] if NO_CLASS in classes else [])
    return ov


def _class_order(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name[:2] if ch.isdigit())
    return (int(digits) if digits else 99, name)


def overview_csv(ov: Overview) -> str:
    """One line per (class, type): what the grid shows, for a spreadsheet or to send upward."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["truong", "nam_hoc", "lop", "loai_ho_so", "ten_loai", "so_ho_so", "da_ky", "ban_sao_hong",
                "thieu_rut_kinh_nghiem", "da_khoa"])  # fmt: skip
    for klass in ov.classes:
        for code, name in ov.types:
            c = ov.cell(klass, code)
            w.writerow([ov.school, ov.year, klass or "(toàn trường)", code, name, c.stored, c.signed, c.damaged,
                        c.lacking_rkn, "có" if code in ov.locked else "không"])  # fmt: skip
    return buf.getvalue()
