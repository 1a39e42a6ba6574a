"""Organisations: Sở GDĐT → Phòng GDĐT → schools."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict, InvalidInput, NotFound
from .events import record_event
from .models import LEVELS, ORG_KINDS, Organisation, User

KIND_NAMES_VI = {"so": "Sở GDĐT", "phong": "Phòng GDĐT", "truong": "Trường"}
# Sở GDĐT → Phòng GDĐT → schools: the kinds an organisation of each kind may sit under (scope rules rely on it)
PARENT_KINDS = {"so": (), "phong": ("so",), "truong": ("so", "phong")}
CODE_MAX, NAME_MAX = 32, 300  # the columns' sizes (archive/models.py: Organisation)
# codes appear in URLs (/users/{u}/roles/{role}/{organisation}): no '/', no spaces
_CODE = re.compile(r"[\w.-]+")


def check_fields(code: str, name: str, kind: str | None) -> None:
    """Refuse, in both languages, what the catalog would refuse with a database error (or store unusable)."""
    if not code or not name:
        raise InvalidInput("Mã và tên đơn vị là bắt buộc", "Organisation code and name are required")
    if len(code) > CODE_MAX or not _CODE.fullmatch(code):
        raise InvalidInput(
            f"Mã đơn vị không hợp lệ: {code[:40]!r} (tối đa {CODE_MAX} ký tự: chữ, số, '.', '-', '_')",
            f"Invalid organisation code {code[:40]!r} (at most {CODE_MAX} letters, digits, '.', '-', '_')",
        )
    if len(name) > NAME_MAX or any(ch < " " for ch in name):
        raise InvalidInput(
            f"Tên đơn vị không hợp lệ (tối đa {NAME_MAX} ký tự, không có ký tự điều khiển)",
            f"Invalid organisation name (at most {NAME_MAX} characters, no control characters)",
        )
    if kind not in ORG_KINDS:
        raise InvalidInput(
            f"Loại đơn vị không hợp lệ: {kind}", f"Unknown organisation kind {kind!r} (so, phong, truong)"
        )


def check_parent(kind: str, parent_code: str, parent_kind: str) -> None:
    if parent_kind not in PARENT_KINDS[kind]:
        raise InvalidInput(
            f"{KIND_NAMES_VI[kind]} không thể trực thuộc {parent_code} ({KIND_NAMES_VI[parent_kind]})",
            f"A {kind} organisation cannot be under {parent_code} (a {parent_kind})",
            code="org_parent_kind",
        )


def parse_levels(level: str | None) -> str | None:
    if not level:
        return None
    parts = [p.strip().upper() for p in level.replace("+", ",").split(",") if p.strip()]
    out = []
    for p in parts:
        p = "multi" if p in ("MULTI", "LIEN-CAP", "LIÊN CẤP") else p
        if p not in LEVELS:
            raise InvalidInput(
                f"Cấp học không hợp lệ: {p} (THCS, THPT, GDTX, multi)",
                f"Unknown level {p!r} (THCS, THPT, GDTX, multi)",
            )
        out.append(p)
    return ",".join(out)


def add_organisation(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    level: str | None = None,
    parent_code: str | None = None,
    actor: User | None = None,
) -> Organisation:
    code, name = code.strip(), name.strip()
    check_fields(code, name, kind)
    if session.scalar(select(Organisation).where(Organisation.code == code)) is not None:
        raise Conflict(
            f"Mã đơn vị {code} đã tồn tại", f"Organisation code {code} already exists", code="org_exists"
        )
    parent = None
    if parent_code:
        parent = get_organisation(session, parent_code)
        check_parent(kind, parent.code, parent.kind)
    levels = parse_levels(level)
    if kind == "truong" and not levels:
        raise InvalidInput(
            "Trường phải có cấp học (THCS, THPT, GDTX)", "A school needs a level (THCS, THPT, GDTX)"
        )
    org = Organisation(code=code, name=name, kind=kind, level=levels, parent=parent)
    session.add(org)
    session.flush()
    record_event(
        session, "org.create", actor=actor, organisation_id=org.id, detail={"code": code, "kind": kind}
    )
    return org


def get_organisation(session: Session, code: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound(
            f"Không tìm thấy đơn vị {code}", f"No organisation with code {code}", code="org_not_found"
        )
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.code)))


# --- CSV import ---------------------------------------------------------------------------------------------------
CSV_COLUMNS = ("code", "name", "kind", "level", "parent")


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    unchanged: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "unchanged": self.unchanged}


def decode_csv(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError:
        raise InvalidInput(
            "Tệp CSV phải mã hóa UTF-8", "The CSV file must be UTF-8 encoded", code="csv_encoding"
        ) from None


def import_csv(session: Session, text: str, *, actor: User | None = None) -> ImportResult:
    """Add every organisation of the file, or none: all lines are checked first and every problem is reported
    with its line number. A line equal to an existing organisation is skipped (so importing twice is harmless); a
    line that contradicts one is an error. Parents may come later in the file than their children."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"Thiếu cột: {', '.join(missing)} (cần {','.join(CSV_COLUMNS)})",
            f"Missing columns: {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})",
            code="csv_columns",
        )
    existing = {o.code: o for o in list_organisations(session)}
    rows: dict[str, tuple[int, dict[str, str | None]]] = {}
    errors: list[tuple[int, str, str]] = []
    for lineno, raw in enumerate(reader, start=2):
        row = {k: (raw.get(k) or "").strip() or None for k in CSV_COLUMNS}
        code = row["code"] or ""
        try:
            check_fields(code, row["name"] or "", row["kind"])
            row["level"] = parse_levels(row["level"])
            if row["kind"] == "truong" and not row["level"]:
                raise InvalidInput("trường phải có cấp học", "a school needs a level")
            if code in rows:
                raise InvalidInput(
                    f"mã {code} trùng với dòng {rows[code][0]}", f"code {code} repeats line {rows[code][0]}"
                )
            old = existing.get(code)
            if old is not None:
                same = (old.name, old.kind, old.level, old.parent.code if old.parent else None) == (
                    row["name"],
                    row["kind"],
                    row["level"],
                    row["parent"],
                )
                if not same:
                    raise InvalidInput(
                        f"mã {code} đã tồn tại với thông tin khác",
                        f"code {code} exists with different values",
                    )
        except InvalidInput as exc:
            errors.append((lineno, exc.message_vi, exc.message_en))
            continue
        rows[code] = (lineno, row)
    for lineno, row in rows.values():
        parent = row["parent"]
        if not parent:
            continue
        if parent not in existing and parent not in rows:
            errors.append((lineno, f"không có đơn vị cấp trên {parent}", f"unknown parent {parent}"))
            continue
        parent_kind = rows[parent][1]["kind"] if parent in rows else existing[parent].kind
        try:
            check_parent(row["kind"] or "", parent, parent_kind or "")
        except InvalidInput as exc:
            errors.append((lineno, exc.message_vi, exc.message_en))
    if errors:
        errors.sort()
        raise InvalidInput(
            "Không nhập gì; lỗi: " + "; ".join(f"dòng {n}: {vi}" for n, vi, _ in errors),
            "Nothing imported; errors: " + "; ".join(f"line {n}: {en}" for n, _, en in errors),
            code="csv_invalid",
        )
    created: list[str] = []
    unchanged = [c for c in rows if c in existing]
    pending = {c: r for c, (_, r) in rows.items() if c not in existing}
    while pending:  # parents first, whatever the order of the file
        ready = [c for c, r in pending.items() if not r["parent"] or r["parent"] not in pending]
        if not ready:
            raise InvalidInput(
                "Quan hệ cấp trên bị vòng lặp: " + ", ".join(sorted(pending)),
                "Parent relations form a cycle: " + ", ".join(sorted(pending)),
                code="csv_invalid",
            )
        for c in ready:
            r = pending.pop(c)
            add_organisation(
                session,
                code=c,
                name=r["name"] or "",
                kind=r["kind"] or "",
                level=r["level"],
                parent_code=r["parent"],
                actor=actor,
            )
            created.append(c)
    if created:
        record_event(
            session, "org.import", actor=actor, detail={"created": created, "unchanged": len(unchanged)}
        )
    return ImportResult(created, unchanged)
