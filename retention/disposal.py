"""Disposal (tiêu hủy): the ONLY code in hoso that deletes a document's copies from the stores.

A batch is proposed (documents past their date, not held, under confirmed rows), approved by the principal, then
executed in this order, so that nothing is destroyed without its record:

1. every document is checked again against the schedule, holds and confirmations at that moment, on the server's
   date (retention/clock.py; no caller can give one): one that is no longer disposable stops the batch (409
   `no_longer_due`, naming it and why) and nothing is touched; the check is repeated in the transaction that turns
   the documents into tombstones, so a hold placed while the record is being signed still stops it;
2. the disposal record (biên bản tiêu hủy) listing every file and its SHA-256 is generated as a PDF, signed by the
   injected `sign` function (or marked unsigned, with a warning printed in the record), and archived permanently
   through ingest (type `bien-ban-tieu-huy`);
3. one transaction turns the documents into tombstones (status `disposed`, versions kept, `disposed_versions` rows,
   events), stops tracking their copies (so fixity does not "repair" them back) and lists the keys to delete;
4. the copies are deleted from every store. Each key is marked when every store has let it go; an interrupted or
   refused deletion (store down, Object Lock still in force) leaves the batch `executing`, and running execute again
   finishes it. A crash between 3 and 4 leaves at worst orphan copies, never a catalog row pointing at nothing.

Content shared with a live document (the same bytes filed twice) is never deleted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from archive.context import Archive
from archive.db import utcnow
from archive.errors import Conflict, InvalidInput, NotFound
from archive.events import record_event
from archive.ingest import ingest_file
from archive.manifests import manifest_key
from archive.models import Document, Organisation, ReplicaCopy, StoredObject, User, Version
from archive.permissions import authorize, permitted
from archive.school_year import current_school_year
from storage import ObjectNotFound, StorageError, content_key

from . import clock
from .disposal_record import attach_listing, render_record
from .models import DisposalBatch, DisposalItem, DisposalKey, DisposedVersion
from .schedules import FACTS_CHUNK, decide_documents, load_schedules

OPEN_STATES = ("proposed", "approved", "executing")
RECORD_TYPE = "bien-ban-tieu-huy"
Signer = Callable[[bytes], bytes]


# --- who may -------------------------------------------------------------------------------------------------------
def can_approve_disposal(session: Session, user: User, school: Organisation) -> bool:
    """The principal (Hiệu trưởng) of `school`, or the system administrator, approves disposal. Every approval check
    in hoso goes through this one function (which asks the one permission matrix, archive/permissions.py)."""
    return permitted(session, user, "retention.approve_disposal", school)


def can_propose_disposal(session: Session, user: User, school: Organisation) -> bool:
    """Văn thư, school administrator, principal (action retention.propose_disposal) or the system administrator."""
    return permitted(session, user, "retention.propose_disposal", school) or can_approve_disposal(
        session, user, school
    )


# --- results -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DueItem:
    document_id: str
    school: str
    type_code: str
    school_year: str
    title: str
    disposable_from: date
    retention: str
    sources: tuple[str, ...]
    open_batch: int | None


@dataclass(frozen=True)
class BatchItemView:
    document_id: str
    title: str
    type_code: str
    school_year: str
    disposable_from: date


@dataclass(frozen=True)
class BatchView:
    id: int
    school: str
    status: str
    proposed_by: str | None
    approved_by: str | None
    executed_at: str | None
    record_document_id: str | None
    record_signed: bool
    items: tuple[BatchItemView, ...]
    keys_pending: int


@dataclass(frozen=True)
class KeyFailure:
    key: str
    store: str
    detail: str


@dataclass(frozen=True)
class ExecutionResult:
    batch_id: int
    status: str  # executed, or executing when some copies could not be deleted yet
    record_document_id: str | None
    record_sha256: str | None
    record_signed: bool
    documents: int
    deleted_keys: int
    kept_shared: tuple[str, ...]  # content keys kept because a live document uses the same bytes
    failures: tuple[KeyFailure, ...]


# --- due list ------------------------------------------------------------------------------------------------------
def due_documents(session: Session, today: date, *, school: str | None = None) -> list[DueItem]:
    """Documents past their date, not held, under confirmed rows (rules.Decision.due)."""
    schedules = load_schedules(session)
    stmt = select(Document).where(Document.status == "active")
    if school:
        stmt = stmt.join(Organisation, Document.school_id == Organisation.id).where(
            Organisation.code == school
        )
    in_batch = _open_batch_by_document(session)
    out = []
    docs = session.scalars(
        stmt.where(
            Document.type_code != RECORD_TYPE
        )  # disposal records are kept permanently, whatever a row says
        .options(joinedload(Document.school))
        .order_by(Document.school_year, Document.id)
        .execution_options(yield_per=FACTS_CHUNK)
    )
    for doc, d in decide_documents(session, docs, today, schedules):
        if d.due and d.disposable_from is not None:
            out.append(
                DueItem(
                    doc.id,
                    doc.school.code,
                    doc.type_code,
                    doc.school_year,
                    doc.title,
                    d.disposable_from,
                    d.period.text,
                    tuple(f"{r.schedule}: {r.source}" for r in d.applied),
                    in_batch.get(doc.id),
                )
            )
    return out


def _open_batch_by_document(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(DisposalItem.document_id, DisposalItem.batch_id)
        .join(DisposalBatch)
        .where(DisposalBatch.status.in_(OPEN_STATES))
    )
    return {doc_id: batch_id for doc_id, batch_id in rows}


# --- propose, approve, cancel --------------------------------------------------------------------------------------
def require_proposer(session: Session, user: User, school: Organisation) -> None:
    """Raise PermissionDenied (recorded, through the one permission path) unless `user` may propose here."""
    if not can_propose_disposal(session, user, school):
        authorize(session, user, "retention.propose_disposal", school)


def propose_batch(
    session: Session,
    *,
    school: str,
    user: User,
    document_ids: Sequence[str] | None = None,
    note: str = "",
) -> BatchView:
    """Judged on the server's date (clock.today()); the date used is recorded in the event."""
    today = clock.today()
    org = session.scalar(select(Organisation).where(Organisation.code == school))
    if org is None:
        raise NotFound(f"Không tìm thấy trường {school}", f"No school {school}", code="school_not_found")
    require_proposer(session, user, org)
    due = {d.document_id: d for d in due_documents(session, today, school=school)}
    wanted = list(document_ids) if document_ids else [d for d, item in due.items() if item.open_batch is None]
    if not wanted:
        raise InvalidInput(
            "Không có hồ sơ nào đến hạn tiêu hủy", "No document is due for disposal", code="nothing_due"
        )
    refused = [doc_id for doc_id in wanted if doc_id not in due]
    if refused:
        raise InvalidInput(
            f"Hồ sơ chưa được phép tiêu hủy (chưa hết hạn, bị phong tỏa, chưa xác nhận hoặc không thuộc trường): "
            f"{', '.join(refused)}",
            f"Not disposable now (not due, held, unconfirmed, or not this school's): {', '.join(refused)}",
            code="not_due",
        )
    busy = [doc_id for doc_id in wanted if due[doc_id].open_batch is not None]
    if busy:
        raise Conflict(
            f"Hồ sơ đã nằm trong một đợt tiêu hủy khác: {', '.join(busy)}",
            f"Already in another open disposal batch: {', '.join(busy)}",
            code="already_in_batch",
        )
    batch = DisposalBatch(school=org, status="proposed", note=note, proposed_at=utcnow(), proposed_by=user)
    session.add(batch)
    for doc_id in dict.fromkeys(wanted):
        item = due[doc_id]
        session.add(
            DisposalItem(
                batch=batch,
                document_id=doc_id,
                disposable_from=item.disposable_from,
                basis={"retention": item.retention, "sources": list(item.sources)},
            )
        )
    session.flush()
    record_event(
        session,
        "disposal.propose",
        actor=user,
        organisation_id=org.id,
        detail={"batch": batch.id, "documents": list(dict.fromkeys(wanted)), "on": today.isoformat()},
    )
    return batch_view(batch)


def _batch(session: Session, batch_id: int, *, lock: bool = False) -> DisposalBatch:
    stmt = select(DisposalBatch).where(DisposalBatch.id == batch_id)
    batch = session.scalar(stmt.with_for_update() if lock else stmt)
    if batch is None:
        raise NotFound(
            f"Không có đợt tiêu hủy {batch_id}", f"No disposal batch {batch_id}", code="batch_not_found"
        )
    return batch


def _still_due(session: Session, batch: DisposalBatch, today: date) -> None:
    """Refuse if any document of the batch stopped being due (a hold, a changed row, a changed date)."""
    schedules = load_schedules(session)
    blocked = []
    for doc, d in decide_documents(session, [item.document for item in batch.items], today, schedules):
        if not d.due:
            blocked.append(f"{doc.id} ({', '.join(d.blockers)})")
    if blocked:
        raise Conflict(
            f"Một số hồ sơ không còn được phép tiêu hủy: {'; '.join(blocked)}",
            f"Some documents may no longer be disposed of: {'; '.join(blocked)}",
            code="no_longer_due",
        )


def approve_batch(session: Session, *, batch_id: int, user: User) -> BatchView:
    """Judged on the server's date (clock.today()); the date used is recorded in the event."""
    today = clock.today()
    batch = _batch(session, batch_id, lock=True)
    if batch.status != "proposed":
        raise Conflict(
            f"Đợt {batch_id} đang ở trạng thái {batch.status}, không thể phê duyệt",
            f"Batch {batch_id} is {batch.status}; only a proposed batch can be approved",
            code="bad_batch_state",
        )
    authorize(session, user, "retention.approve_disposal", batch.school)
    _still_due(session, batch, today)
    batch.status, batch.approved_at, batch.approved_by = "approved", utcnow(), user
    record_event(
        session,
        "disposal.approve",
        actor=user,
        organisation_id=batch.school_id,
        detail={"batch": batch.id, "on": today.isoformat()},
    )
    return batch_view(batch)


def cancel_batch(session: Session, *, batch_id: int, user: User, reason: str = "") -> BatchView:
    batch = _batch(session, batch_id, lock=True)
    if batch.status not in ("proposed", "approved"):
        raise Conflict(
            f"Đợt {batch_id} đang ở trạng thái {batch.status}, không thể hủy",
            f"Batch {batch_id} is {batch.status}; it can no longer be cancelled",
            code="bad_batch_state",
        )
    require_proposer(session, user, batch.school)  # proposers and approvers alike
    batch.status = "cancelled"
    record_event(
        session,
        "disposal.cancel",
        actor=user,
        organisation_id=batch.school_id,
        detail={"batch": batch.id, "reason": reason},
    )
    return batch_view(batch)


def batch_view(batch: DisposalBatch) -> BatchView:
    return BatchView(
        id=batch.id,
        school=batch.school.code,
        status=batch.status,
        proposed_by=batch.proposed_by.username if batch.proposed_by else None,
        approved_by=batch.approved_by.username if batch.approved_by else None,
        executed_at=batch.executed_at.isoformat() if batch.executed_at else None,
        record_document_id=batch.record_document_id,
        record_signed=batch.record_signed,
        items=tuple(
            BatchItemView(
                i.document_id,
                i.document.title,
                i.document.type_code,
                i.document.school_year,
                i.disposable_from,
            )
            for i in batch.items
        ),
        keys_pending=sum(k.state == "pending" for k in batch.keys),
    )


def list_batches(session: Session, *, school: str | None = None) -> list[BatchView]:
    stmt = select(DisposalBatch).order_by(DisposalBatch.id)
    if school:
        stmt = stmt.join(Organisation, DisposalBatch.school_id == Organisation.id).where(
            Organisation.code == school
        )
    return [batch_view(b) for b in session.scalars(stmt)]


# --- execute -------------------------------------------------------------------------------------------------------
def execute_batch(
    archive: Archive,
    *,
    batch_id: int,
    sign: Signer | None = None,
    user: User | None = None,
) -> ExecutionResult:
    """Carry out an approved batch on the server's date (clock.today()), re-checking every document first.

    `user` None is the operator at the command line; given, they must be allowed to approve disposal at the school
    (an approved batch is the principal's decision: the same people carry it out)."""
    today = clock.today()
    with archive.sessions() as session, session.begin():
        batch = _batch(session, batch_id, lock=True)
        if user is not None:
            authorize(session, session.merge(user), "retention.approve_disposal", batch.school)
        resuming = batch.status == "executing"
        if not resuming:
            if batch.status != "approved":
                raise Conflict(
                    f"Đợt {batch_id} chưa được phê duyệt (trạng thái {batch.status})",
                    f"Batch {batch_id} is {batch.status}; only an approved batch can be executed",
                    code="bad_batch_state",
                )
            _still_due(session, batch, today)
            listing = _listing(batch)
            school_code, school_name = batch.school.code, batch.school.name
    record_sha = None
    signed = False
    kept: list[str] = []
    if not resuming:
        pdf, signed = _record_pdf(archive, batch_id, school_name, listing, today, sign)
        record = _archive_record(archive, pdf, batch_id, school_code, today, user)
        record_sha = record.version.sha256
        kept = _tombstone(archive, batch_id, record.document.id, signed, user, today)
    failures, deleted = _delete_pending(archive, batch_id)
    with archive.sessions() as session, session.begin():
        batch = _batch(session, batch_id, lock=True)
        pending = sum(k.state == "pending" for k in batch.keys)
        if pending == 0 and batch.status == "executing":
            batch.status, batch.executed_at = "executed", utcnow()
            record_event(
                session,
                "disposal.executed",
                actor=session.merge(user) if user else None,
                organisation_id=batch.school_id,
                detail={
                    "batch": batch.id,
                    "keys": len(batch.keys),
                    "record": batch.record_document_id,
                    "on": today.isoformat(),
                },
            )
        return ExecutionResult(
            batch_id=batch.id,
            status=batch.status,
            record_document_id=batch.record_document_id,
            record_sha256=record_sha,
            record_signed=batch.record_signed,
            documents=len(batch.items),
            deleted_keys=deleted,
            kept_shared=tuple(kept),
            failures=tuple(failures),
        )


def _listing(batch: DisposalBatch) -> dict[str, Any]:
    return {
        "proposed_by": batch.proposed_by.username if batch.proposed_by else "",
        "proposed_at": batch.proposed_at.isoformat(timespec="seconds"),
        "approved_by": batch.approved_by.username if batch.approved_by else "",
        "approved_by_name": batch.approved_by.full_name if batch.approved_by else "",
        "approved_at": batch.approved_at.isoformat(timespec="seconds") if batch.approved_at else "",
        "items": [
            {
                "document_id": i.document_id,
                "title": i.document.title,
                "type": i.document.doc_type.name_vi,
                "type_code": i.document.type_code,
                "year": i.document.school_year,
                "disposable_from": i.disposable_from.isoformat(),
                "basis": i.basis,
                "versions": [
                    {"number": v.number, "filename": v.original_filename, "sha256": v.sha256, "size": v.size}
                    for v in i.document.versions
                ],
            }
            for i in batch.items
        ],
    }


def _record_pdf(
    archive: Archive,
    batch_id: int,
    school_name: str,
    listing: dict[str, Any],
    today: date,
    sign: Signer | None,
) -> tuple[bytes, bool]:
    warning = None
    if sign is None:
        warning = (
            "CHƯA KÝ SỐ: chưa cấu hình chữ ký số của cơ quan; biên bản được lưu không có chữ ký. "
            "/ NOT SIGNED: no organisation signing key is configured; the record is stored unsigned."
        )
    pdf = render_record(
        batch_id=batch_id, school_name=school_name, listing=listing, today=today, warning=warning
    )
    meta = {"batch": batch_id, "school": school_name, "date": today.isoformat(), "signed": sign is not None}
    pdf = attach_listing(pdf, meta | {"warning": warning} | listing)
    if sign is None:
        return pdf, False
    return sign(pdf), True


def _archive_record(archive: Archive, pdf: bytes, batch_id: int, school: str, today: date, user: User | None):
    with tempfile.TemporaryDirectory(dir=archive.spool_dir) as tmp:
        path = Path(tmp) / f"Biên bản tiêu hủy số {batch_id}.pdf"
        path.write_bytes(pdf)
        return ingest_file(
            archive,
            path,
            filename=path.name,
            school=school,
            type_code=RECORD_TYPE,
            year=current_school_year(today),
            title=f"Biên bản tiêu hủy hồ sơ hết thời hạn bảo quản — đợt {batch_id} ({today.isoformat()})",
            actor=user,
            as_received=True,  # its listing is attached: a PDF/A rewrite would drop it
        )


def _tombstone(
    archive: Archive, batch_id: int, record_id: str, signed: bool, user: User | None, today: date
) -> list[str]:
    """One transaction: documents become tombstones, their copies stop being tracked, the keys to delete are listed.
    Returns the content keys kept because a live document shares the bytes."""
    with archive.sessions() as session, session.begin():
        batch = _batch(session, batch_id, lock=True)
        if batch.status != "approved":
            # another `execute` of the same batch got here first (the first transaction only read the status)
            raise Conflict(
                f"Đợt {batch_id} đang được thực hiện bởi một lệnh khác (trạng thái {batch.status})",
                f"Batch {batch_id} is already being executed elsewhere ({batch.status})",
                code="bad_batch_state",
            )
        # again, at the moment of the change: a hold placed (or a row changed) while the record was being signed
        _still_due(session, batch, today)
        now = utcnow()
        actor = session.merge(user) if user else None
        batch.status, batch.record_document_id, batch.record_signed = "executing", record_id, signed
        doc_ids = [i.document_id for i in batch.items]
        keys: dict[str, tuple[str, str]] = {}
        for item in batch.items:
            doc = item.document
            doc.status = "disposed"
            for v in doc.versions:
                session.add(
                    DisposedVersion(version_id=v.id, batch_id=batch.id, disposed_at=now, number=v.number)
                )
                keys[manifest_key(doc.id, v.number)] = (v.manifest_sha256, "manifest")
                keys.setdefault(content_key(v.sha256), (v.sha256, "content"))
            record_event(
                session,
                "document.dispose",
                actor=actor,
                document_id=doc.id,
                organisation_id=doc.school_id,
                detail={"batch": batch.id, "record": record_id, "versions": [v.sha256 for v in doc.versions]},
            )
        session.flush()
        shared = _shared_content(session, [sha for sha, kind in keys.values() if kind == "content"], doc_ids)
        kept = [key for key, (sha, kind) in keys.items() if kind == "content" and sha in shared]
        doomed = [key for key in keys if key not in kept]
        for key in doomed:
            sha, kind = keys[key]
            session.add(DisposalKey(batch=batch, key=key, sha256=sha, kind=kind, state="pending"))
        # stop tracking the copies: two statements for the whole batch, not a query per key and per copy
        doomed_ids = select(StoredObject.id).where(StoredObject.key.in_(doomed))
        session.execute(delete(ReplicaCopy).where(ReplicaCopy.object_id.in_(doomed_ids)))
        session.execute(delete(StoredObject).where(StoredObject.key.in_(doomed)))
        if kept:
            _mark_kept(session, batch.id, kept)
        record_event(
            session,
            "disposal.execute",
            actor=actor,
            organisation_id=batch.school_id,
            detail={
                "batch": batch.id,
                "record": record_id,
                "signed": signed,
                "on": today.isoformat(),
                "keys": len(keys) - len(kept),
                "kept": kept,
            },
        )
    return kept


def _mark_kept(session: Session, batch_id: int, kept: list[str]) -> None:
    rows = session.execute(
        select(DisposedVersion, Version.sha256)
        .join(Version, DisposedVersion.version_id == Version.id)
        .where(DisposedVersion.batch_id == batch_id)
    )
    for dv, sha in rows:
        if content_key(sha) in kept:
            dv.content_kept = True


def _shared_content(session: Session, shas: list[str], disposed_doc_ids: list[str]) -> set[str]:
    if not shas:
        return set()
    rows = session.scalars(
        select(Version.sha256)
        .join(Document, Version.document_id == Document.id)
        .where(Version.sha256.in_(shas), Document.status != "disposed", Document.id.not_in(disposed_doc_ids))
    )
    return set(rows)


def _delete_pending(archive: Archive, batch_id: int) -> tuple[list[KeyFailure], int]:
    """Delete every pending key from every store; a key is done when no store holds it any more."""
    failures: list[KeyFailure] = []
    deleted = 0
    with archive.sessions() as session:
        pending = [
            (k.id, k.key)
            for k in session.scalars(
                select(DisposalKey).where(DisposalKey.batch_id == batch_id, DisposalKey.state == "pending")
            )
        ]
    for key_id, key in pending:
        errors = []
        for store in archive.replicas.stores:
            try:
                store.delete(key)
            except ObjectNotFound:
                pass  # already gone (an earlier, interrupted run)
            except StorageError as exc:
                errors.append(KeyFailure(key, store.url, str(exc)))
        with archive.sessions() as session, session.begin():
            row = session.get(DisposalKey, key_id)
            assert row is not None
            if errors:
                row.detail = "; ".join(f"{e.store}: {e.detail}" for e in errors)[:1000]
                failures.extend(errors)
            else:
                row.state, row.deleted_at, row.detail = "deleted", utcnow(), ""
                deleted += 1
    return failures, deleted


__all__ = [
    "BatchView",
    "DueItem",
    "ExecutionResult",
    "approve_batch",
    "can_approve_disposal",
    "cancel_batch",
    "due_documents",
    "execute_batch",
    "list_batches",
    "propose_batch",
]
