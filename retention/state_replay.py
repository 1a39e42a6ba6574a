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

from archive.chain_models import SigningRequest
from archive.correction_models import CorrectionEvidence, CorrectionRequest
from archive.models import Document, DocumentType, Organisation, RecordLock, User
from archive.record_models import EDITABLE, DocumentChange
from archive.state_records import PREFIX
from storage import StorageError, Store, content_key

from .models import LegalHold, RetentionSchedule
from .schedules import apply_confirmation, ensure_schedules


@dataclass
class Replayed:
    read: list[tuple[str, str, int]] = field(default_factory=list)  # key, sha256, size of every record read
    applied: int = 0
    unreadable: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # records naming what the catalog does not hold
    content: list[tuple[str, str, int]] = field(default_factory=list)  # evidence files the records name


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def replay(session: Session, store: Store, user_of: Callable[[str | None], User | None]) -> Replayed:
    out = Replayed()
    holds: dict[int, LegalHold] = {}  # the hold id in the lost catalog → the rebuilt row
    fixes: dict[int, CorrectionRequest] = {}  # the same for corrections
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
        if rec.get("kind") == "correction":
            done = _correction(session, rec, user_of, fixes, out)
        elif rec.get("kind") == "chain":
            done = _chain(session, rec, user_of)
        else:
            done = _apply(session, rec, user_of, holds)
        if done:
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


def _correction(
    session: Session,
    rec: dict[str, Any],
    user_of: Callable[[str | None], User | None],
    fixes: dict[int, CorrectionRequest],
    out: Replayed,
) -> bool:
    at, by, op = _when(rec["at"]), user_of(rec.get("by")), rec["op"]
    if op == "request":
        if session.get(Document, rec["document_id"]) is None or by is None:
            return False
        req = CorrectionRequest(
            document_id=rec["document_id"], status="requested", base_version=rec["base_version"], wrong=rec["wrong"],
            should_be=rec["should_be"], why=rec["why"], requested_at=at, requested_by_id=by.id, decision_note="",
        )  # fmt: skip
        for e in rec.get("evidence") or []:
            req.evidence.append(
                CorrectionEvidence(
                    filename=e["filename"], media_type=e["media_type"], sha256=e["sha256"], size=e["size"]
                )
            )
            out.content.append((content_key(e["sha256"]), e["sha256"], e["size"]))
        session.add(req)
        fixes[int(rec["id"])] = req
        return True
    found = fixes.get(int(rec["id"]))
    if found is None:
        return False
    fix = found
    if op in ("approve", "refuse"):
        fix.status = "approved" if op == "approve" else "refused"
        fix.decided_at, fix.decided_by_id, fix.decision_note = (
            at,
            by.id if by else None,
            rec.get("note") or "",
        )
    elif op == "apply":
        fix.status, fix.applied_at, fix.applied_version = "applied", at, rec["version"]
        fix.applied_by_id = by.id if by else None
    elif op == "record":
        if session.get(Document, rec["record_document_id"]) is None:
            return False
        fix.record_document_id = rec["record_document_id"]
    return True


def _chain(session: Session, rec: dict[str, Any], user_of: Callable[[str | None], User | None]) -> bool:
    """The last state record of a round wins: the round's rows are put back as that record lists them."""
    if session.get(Document, rec.get("document_id") or "") is None:
        return False
    doc_id, round_ = rec["document_id"], int(rec["round"])
    for old in session.scalars(
        select(SigningRequest).where(SigningRequest.document_id == doc_id, SigningRequest.round == round_)
    ):
        session.delete(old)
    session.flush()
    for r in rec.get("rows") or []:
        person, done_by = user_of(r.get("user")), user_of(r.get("done_by"))
        session.add(
            SigningRequest(
                document_id=doc_id,
                chain_version=int(rec.get("chain_version") or 0),
                round=round_,
                position=r["position"],
                who=r["who"],
                title_vi=r.get("title_vi") or "",
                subject=r.get("subject") or "",
                user_id=person.id if person else None,
                status=r["status"],
                opened_at=_when(r["opened_at"]) if r.get("opened_at") else None,
                done_at=_when(r["done_at"]) if r.get("done_at") else None,
                done_by_id=done_by.id if done_by else None,
                version_number=r.get("version"),
                note=r.get("note") or "",
                field_name=r.get("field_name") or "",
                box=r.get("box") or "",
            )  # fmt: skip
        )
    return True
