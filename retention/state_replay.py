"""Replaying the state records of one replica (archive/state_records.py) into a rebuilt catalog: locks, withdrawals,
edits of details and legal holds come back as they were, so a finished year stays locked and a held record stays
held after `hoso catalog rebuild`. Records are applied in key order (their UTC time); one that names a school,
type or document the rebuilt catalog does not hold is reported, not invented."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Document, DocumentType, Organisation, RecordLock, User
from archive.record_models import EDITABLE, DocumentChange
from archive.state_records import PREFIX
from storage import StorageError, Store

from .models import LegalHold, RetentionSchedule
from .schedules import apply_confirmation, ensure_schedules


@dataclass
class Replayed:
    read: list[tuple[str, str, int]] = field(default_factory=list)  # key, sha256, size of every record read
    applied: int = 0
    unreadable: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # records naming what the catalog does not hold


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def replay(session: Session, store: Store, user_of: Callable[[str | None], User | None]) -> Replayed:
    out = Replayed()
    holds: dict[int, LegalHold] = {}  # the hold id in the lost catalog → the rebuilt row
    ensure_schedules(session)  # the rows a confirmation replaces
    for key in sorted(store.list(PREFIX)):
        try:
            with store.get(key) as f:
                data = f.read()
            rec: dict[str, Any] = json.loads(data)
        except (StorageError, ValueError) as exc:
            out.unreadable.append(f"{key}: {exc}")
            continue
        out.read.append((key, hashlib.sha256(data).hexdigest(), len(data)))
        if _apply(session, rec, user_of, holds):
            out.applied += 1
        else:
            out.unmatched.append(key)
        session.flush()
    return out


def _apply(
    session: Session,
    rec: dict[str, Any],
    user_of: Callable[[str | None], User | None],
    holds: dict[int, LegalHold],
) -> bool:
    kind, at, by = rec.get("kind"), _when(rec["at"]), user_of(rec.get("by"))
    if kind == "lock":
        school = session.scalar(select(Organisation).where(Organisation.code == rec["school"]))
        if school is None or session.get(DocumentType, rec["type"]) is None:
            return False
        found = session.scalar(
            select(RecordLock).where(
                RecordLock.school_id == school.id,
                RecordLock.type_code == rec["type"],
                RecordLock.school_year == rec["year"],
            )
        )
        if rec["op"] == "add" and found is None:
            session.add(
                RecordLock(
                    school_id=school.id,
                    type_code=rec["type"],
                    school_year=rec["year"],
                    locked_at=at,
                    locked_by_id=by.id if by else None,
                    instructed_by_id=(u.id if (u := user_of(rec.get("instructed_by"))) else None),
                    reason=rec.get("reason") or "",
                )  # fmt: skip
            )
        elif rec["op"] == "remove" and found is not None:
            session.delete(found)
        return True
    if kind == "retention_confirmation":
        if (
            session.get(DocumentType, rec["type_code"]) is None
            or session.get(RetentionSchedule, rec["schedule"]) is None
        ):
            return False
        apply_confirmation(
            session, schedule=rec["schedule"], type_code=rec["type_code"], level=rec.get("level") or "",
            retention=rec["retention"], source=rec.get("source") or "", user=by, at=at,
        )  # fmt: skip
        return True
    doc = session.get(Document, rec.get("document_id") or "")
    if doc is None:
        return False
    if kind == "withdrawal":
        if doc.status == "active":
            doc.status = "withdrawn"
        return True
    if kind == "edit":
        for name, (old, new) in (rec.get("changes") or {}).items():
            if name not in EDITABLE:
                continue
            setattr(doc, name, new)
            session.add(
                DocumentChange(
                    document_id=doc.id,
                    changed_at=at,
                    changed_by_id=by.id if by else None,
                    field=name,
                    old_value=old,
                    new_value=new,
                    reason=rec.get("reason") or "",
                )  # fmt: skip
            )
        return True
    if kind == "hold":
        if rec["op"] == "place":
            hold = LegalHold(
                document=doc, reason=rec["reason"], reference=rec.get("reference") or "", note=rec.get("note") or "",
                placed_at=at, placed_by=by,
            )  # fmt: skip
            session.add(hold)
            holds[int(rec["hold"])] = hold
        elif (held := holds.get(int(rec["hold"]))) is not None:
            held.released_at, held.released_by, held.release_note = at, by, rec.get("note") or ""
        return True
    return False
