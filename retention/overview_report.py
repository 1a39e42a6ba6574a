"""The year overview as a report to send upward (báo cáo tổng quan hồ sơ số năm học), sealed by the system like the
check records and inspection reports: the school's grid of classes × record types (archive/year_overview.py), or the
Phòng / Sở roll-up of its schools (archive/year_rollup.py), in the layout of Nghị định 30/2020/NĐ-CP, with the same
figures embedded as JSON for the receiving office's software. Made on request, not kept: the seal lets the receiver
check it, and the audit trail records who made which (its SHA-256)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import datetime
from typing import Any

from archive.context import Archive
from archive.db import utcnow
from archive.errors import StorageDown
from archive.events import record_event
from archive.models import Organisation, User
from archive.year_overview import MEASURES, Overview
from archive.year_rollup import Rollup

from .pdf_text import Report, with_json
from .rules import VN_TZ

JSON_NAME = "tong-quan.json"
COLUMNS_PER_TABLE = 10  # record types side by side on a landscape A4 page; more go to a further table
BASIS = (
    "Căn cứ: Công văn 1370/SGDĐT-GDTrH&TX (hồ sơ điện tử, ký số, khóa sổ theo năm học); Thông tư 32/2020/TT-BGDĐT. "
    "Số liệu lấy từ danh mục của Kho hồ sơ số tại thời điểm lập; hồ sơ đã rút hoặc đã tiêu hủy không được tính."
)
LEGEND = (
    "Mỗi ô: số hồ sơ đã lưu / số đã ký số; «chờ n»: n hồ sơ đang chờ ký; «hỏng n»: n hồ sơ có bản sao hỏng; "
    "«RKN n»: n giáo án thiếu mục Rút kinh nghiệm; «—»: chưa có hồ sơ (ô còn thiếu); 🔒 → (khóa): loại đã khóa sổ."
)


def _when(moment: datetime) -> tuple[str, str]:
    local = moment.astimezone(VN_TZ)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}", local.strftime("%Y%m%d%H%M")


def _cell_text(
    stored: int, signed: int, awaiting: int, damaged: int, lacking: int, corrected: int = 0
) -> str:
    if not stored:
        return "—"
    text = f"{stored}/{signed}"
    for n, label in ((awaiting, "chờ"), (damaged, "hỏng"), (lacking, "RKN"), (corrected, "sửa")):
        text += f" {label} {n}" if n else ""
    return text


def render_overview(ov: Overview, *, made_at: datetime, made_by: str) -> bytes:
    date_vi, stamp = _when(made_at)
    r = Report(
        f"Báo cáo tổng quan hồ sơ số năm học {ov.year} — {ov.school_name}", ov.school_name, landscape=True
    )
    r.header(
        parent=ov.parent_name, issuer=ov.school_name, number=f"TQ-{ov.school}-{stamp}/BC", when=date_vi,
        kind="BÁO CÁO", summary=f"Tổng quan hồ sơ số năm học {ov.year}",
    )  # fmt: skip
    r.line(BASIS, 8.5)
    r.space(6)
    t = ov.totals()
    r.line("1. Số liệu chung", 11, bold=True)
    r.line(
        f"Số hồ sơ đã lưu: {t.stored}; đã ký số: {t.signed}; đang chờ ký: {t.awaiting}; ô còn thiếu (lớp chưa có loại "
        f"hồ sơ mà lớp khác đã có): {ov.missing}; hồ sơ có bản sao hỏng: {t.damaged}; giáo án thiếu «Rút kinh "
        f"nghiệm»: {t.lacking_rkn}.",
        9.5, indent=10,
    )  # fmt: skip
    locked = [name for code, name in ov.types if code in ov.locked]
    r.line(f"Loại hồ sơ đã khóa sổ: {'; '.join(locked) if locked else 'chưa có'}.", 9.5, indent=10)
    r.line("2. Hồ sơ theo lớp và loại hồ sơ", 11, bold=True)
    r.line(LEGEND.replace("🔒 → ", ""), 8)
    if not ov.types:
        r.line(f"Năm học {ov.year} chưa có hồ sơ nào.", 9.5, indent=10)
    usable = r.width - 2 * r.left
    for start in range(0, len(ov.types), COLUMNS_PER_TABLE):
        chunk = ov.types[start : start + COLUMNS_PER_TABLE]
        first = 70.0
        widths = [first] + [(usable - first) / len(chunk)] * len(chunk)
        heading = ["Lớp"] + [f"{name}{' (khóa)' if code in ov.locked else ''}" for code, name in chunk]
        rows = [
            [k or "Toàn trường"]
            + [_cell_text(*(getattr(ov.cell(k, code), m) for m in MEASURES)) for code, _ in chunk]
            for k in ov.classes
        ]
        rows.append(
            ["Cộng"]
            + [_cell_text(*(getattr(ov.type_totals(code), m) for m in MEASURES)) for code, _ in chunk]
        )
        r.table(heading, rows, widths)
    r.closing(
        ["Phòng/Sở GDĐT (để báo cáo)", "Lưu: VT"],
        "Hiệu trưởng",
        f"Báo cáo do hệ thống lập theo yêu cầu của {made_by} và ký số bằng chữ ký số của hệ thống.",
    )
    data = {
        "school": ov.school, "school_name": ov.school_name, "year": ov.year, "made_at": made_at.isoformat(),
        "made_by": made_by, "types": [{"code": c, "name": n, "locked": c in ov.locked} for c, n in ov.types],
        "missing": ov.missing, "totals": asdict(t),
        "cells": [
            {"class": k or None, "type": code} | asdict(ov.cell(k, code))
            for k in ov.classes for code, _ in ov.types if ov.cell(k, code).stored
        ],
    }  # fmt: skip
    return with_json(r.finish(), JSON_NAME, data, "Số liệu của báo cáo / the report's figures")


def render_rollup(ru: Rollup, *, made_at: datetime, made_by: str) -> bytes:
    date_vi, stamp = _when(made_at)
    issuer = ru.org_name or "Kho hồ sơ số"
    r = Report(f"Báo cáo tổng hợp hồ sơ số năm học {ru.year} — {issuer}", issuer, landscape=True)
    r.header(
        parent=ru.parent_name, issuer=issuer, number=f"TH-{ru.org_code or 'hoso'}-{stamp}/BC", when=date_vi,
        kind="BÁO CÁO", summary=f"Tổng hợp hồ sơ số năm học {ru.year} của các trường",
    )  # fmt: skip
    r.line(BASIS, 8.5)
    r.space(6)
    t = ru.totals()
    r.line(
        f"Số trường: {len(ru.schools)}; chưa có hồ sơ năm học này: {sum(1 for s in ru.schools if not s.counts.stored)}. "
        f"Tổng số hồ sơ: {t.stored}; đã ký số: {t.signed}; đang chờ ký: {t.awaiting}; có bản sao hỏng: {t.damaged}; "
        f"giáo án thiếu «Rút kinh nghiệm»: {t.lacking_rkn}.",
        9.5,
    )
    heading = ["STT", "Trường", "Cấp học", "Đã lưu", "Đã ký", "Chờ ký", "Ô còn thiếu", "Loại đã khóa sổ",
               "Bản sao hỏng", "Thiếu RKN"]  # fmt: skip
    widths = [28.0, 250.0, 60.0] + [(r.width - 2 * r.left - 338.0) / 7] * 7
    rows = [
        [str(n), f"{s.name} ({s.code})", s.levels_vi]
        + [str(x) for x in (s.counts.stored, s.counts.signed, s.counts.awaiting, s.missing, s.locked)]
        + [str(s.counts.damaged), str(s.counts.lacking_rkn)]
        for n, s in enumerate(ru.schools, 1)
    ]
    r.table(heading, rows, widths, size=8)
    r.closing(
        ["Sở/Bộ GDĐT (để báo cáo)", "Các trường (để biết)", "Lưu: VT"],
        "Thủ trưởng đơn vị",
        f"Báo cáo do hệ thống lập theo yêu cầu của {made_by} và ký số bằng chữ ký số của hệ thống.",
    )
    data = {
        "year": ru.year, "organisation": ru.org_code or None, "made_at": made_at.isoformat(), "made_by": made_by,
        "totals": asdict(t),
        "schools": [
            {"code": s.code, "name": s.name, "levels": s.levels, "missing": s.missing, "locked": s.locked}
            | asdict(s.counts)
            for s in ru.schools
        ],
    }  # fmt: skip
    return with_json(r.finish(), JSON_NAME, data, "Số liệu của báo cáo / the report's figures")


def _seal(
    archive: Archive, pdf: bytes, *, actor: User, school: Organisation | None, detail: dict[str, Any]
) -> bytes:
    if archive.signing is None:
        raise StorageDown(
            "Chưa cấu hình chữ ký số của hệ thống", "No system seal is configured", code="no_seal"
        )
    sealed = archive.signing.sign_org(pdf)
    with archive.sessions() as session, session.begin():
        record_event(
            session, "overview.report", actor=session.merge(actor),
            organisation_id=school.id if school is not None else None,
            detail=detail | {"sha256": hashlib.sha256(sealed).hexdigest()},
        )  # fmt: skip
    return sealed


def overview_report(archive: Archive, ov: Overview, *, school: Organisation, actor: User) -> bytes:
    """The sealed PDF of one school's year overview (the caller has checked the person may read that school)."""
    made_by = actor.full_name or actor.username
    pdf = render_overview(ov, made_at=utcnow(), made_by=made_by)
    return _seal(archive, pdf, actor=actor, school=school, detail={"school": ov.school, "year": ov.year})


def rollup_report(archive: Archive, ru: Rollup, *, actor: User) -> bytes:
    """The sealed PDF of a Phòng's or Sở's roll-up (archive.year_rollup scoped it to the person)."""
    made_by = actor.full_name or actor.username
    pdf = render_rollup(ru, made_at=utcnow(), made_by=made_by)
    detail = {"organisation": ru.org_code or None, "year": ru.year, "schools": len(ru.schools)}
    return _seal(archive, pdf, actor=actor, school=None, detail=detail)


def report_filename(kind: str, code: str, year: str) -> str:
    return f"{kind}_{code or 'cac-truong'}_{year}.pdf"
