"""Organisations: Sở GDĐT → Phòng GDĐT → schools."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict, InvalidInput, NotFound
from .events import record_event
from .models import LEVELS, ORG_KINDS, Organisation, User

KIND_NAMES_VI = {"so": "Sở GDĐT", "phong": "Phòng GDĐT", "truong": "Trường"}


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
    code = code.strip()
    if not code or not name.strip():
        raise InvalidInput("Mã và tên đơn vị là bắt buộc", "Organisation code and name are required")
    if kind not in ORG_KINDS:
        raise InvalidInput(
            f"Loại đơn vị không hợp lệ: {kind}", f"Unknown organisation kind {kind!r} (so, phong, truong)"
        )
    if session.scalar(select(Organisation).where(Organisation.code == code)) is not None:
        raise Conflict(
            f"Mã đơn vị {code} đã tồn tại", f"Organisation code {code} already exists", code="org_exists"
        )
    parent = None
    if parent_code:
        parent = get_organisation(session, parent_code)
    levels = parse_levels(level)
    if kind == "truong" and not levels:
        raise InvalidInput(
            "Trường phải có cấp học (THCS, THPT, GDTX)", "A school needs a level (THCS, THPT, GDTX)"
        )
    org = Organisation(code=code, name=name.strip(), kind=kind, level=levels, parent=parent)
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


def org_to_dict(org: Organisation) -> dict[str, object]:
    return {
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "level": org.level,
        "parent": org.parent.code if org.parent else None,
    }
