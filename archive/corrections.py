"""Corrections of locked records (Công văn 1370 Phụ lục II.2).

A person holding `correction.request` at the school files a request on a locked record — what is wrong, what it
should be, why — with evidence files (scans of the personal mark book, the test paper …), kept like any content in
every replica. The principal (`correction.approve`) approves or refuses with a reason. An approved request lets
exactly one new version of that record through the lock (archive.locks.correction_check), uploaded by the requester
or the system administrator (the school's cán bộ quản trị, or the instance's); the version and the request's
`applied` status commit in one transaction, so the approval is consumed and the year is closed again at once.
hoso then files the biên bản chỉnh sửa dữ liệu (retention/correction_record.py), signed by the requester, the
administrator and the principal through the signing chain of its type.

Every step is also a state record in every replica (kind "correction"), so `hoso catalog rebuild` restores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import content_key

from . import locks, sniff
from .context import Archive
from .correction_models import CorrectionEvidence, CorrectionRequest
from .db import utcnow
from .documents import get_document
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .events import record_event
from .ingest import write_copies
from .models import Document, RecordLock, User, Version
from .permissions import authorize, permitted, record_denial
from .state_records import write_record
from .stored_objects import track_object

TEXT_MAX = 2000
MAX_EVIDENCE_FILES = 10
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
JPEG, PNG = "image/jpeg", "image/png"
STATUS_VI = {
    "requested": "Chờ hiệu trưởng duyệt",
    "approved": "Đã duyệt — chờ tải phiên bản sửa",
    "refused": "Bị từ chối",
    "applied": "Đã sửa — đã khóa lại",
}
OPEN = ("requested", "approved")


@dataclass(frozen=True)
class EvidenceFile:
    """An evidence file already spooled to disk and hashed (hoso's upload helpers do that)."""

    path: Path
    filename: str
    sha256: str
    size: int


def evidence_type(path: Path, filename: str) -> str | None:
    """What evidence may be: the record formats, and photos of paper (JPEG, PNG)."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return sniff.sniff(path, filename)


def _text(value: str, what_vi: str, what_en: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"Hãy ghi {what_vi}.", f"{what_en} is required.", code="field_required")
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            f"{what_vi.capitalize()} quá dài (tối đa {TEXT_MAX} ký tự).",
            f"{what_en} too long (at most {TEXT_MAX}).",
            code="too_long",
        )
    return text


def _check_evidence(files: list[EvidenceFile]) -> list[tuple[EvidenceFile, str]]:
    if not files:
        raise InvalidInput(
            "Cần ít nhất một tệp minh chứng (bản chụp sổ điểm cá nhân, bài kiểm tra…).",
            "At least one evidence file is required.",
            code="evidence_required",
        )
    if len(files) > MAX_EVIDENCE_FILES:
        raise InvalidInput(
            f"Tối đa {MAX_EVIDENCE_FILES} tệp minh chứng.",
            f"At most {MAX_EVIDENCE_FILES} evidence files.",
            code="too_many_files",
        )
    out = []
    for f in files:
        if f.size == 0:
            raise InvalidInput(f"Tệp {f.filename} rỗng.", f"{f.filename} is empty.", code="empty_file")
        if f.size > MAX_EVIDENCE_BYTES:
            raise InvalidInput(
                f"Tệp {f.filename} vượt quá {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB.",
                f"{f.filename} is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB.",
                code="too_large",
                status=413,
            )
        media_type = evidence_type(f.path, f.filename)
        if media_type is None:
            raise InvalidInput(
                f"Tệp {f.filename}: chỉ nhận PDF, ảnh JPEG/PNG, Word, Excel, OpenDocument.",
                f"{f.filename}: only PDF, JPEG/PNG images, Word, Excel, OpenDocument are accepted.",
                code="unsupported_type",
                status=415,
            )
        out.append((f, media_type))
    return out


def may_request(session: Session, user: User, doc: Document) -> bool:
    """For pages: offer the request form? (the record is locked, active, and the person holds the right)."""
    return (
        doc.status == "active"
        and locks.find_lock(session, doc.school_id, doc.type_code, doc.school_year) is not None
        and permitted(session, user, "correction.request", doc.school)
    )


def file_request(
    archive: Archive,
    doc_id: str,
    *,
    actor: User,
    wrong: str,
    should_be: str,
    why: str,
    evidence: list[EvidenceFile],
) -> CorrectionRequest:
    """File a correction request; the evidence is in every replica before the catalog row commits."""
    wrong = _text(wrong, "điều sai", "What is wrong")
    should_be = _text(should_be, "nội dung đúng", "What it should be")
    why = _text(why, "lý do", "The reason")
    with archive.sessions() as session:
        _check_request(session, session.merge(actor), get_document(session, doc_id))
    checked = _check_evidence(evidence)
    results = {f.sha256: write_copies(archive, content_key(f.sha256), f.path, f.sha256) for f, _ in checked}
    with archive.sessions() as session, session.begin():
        doc = session.scalar(select(Document).where(Document.id == doc_id).with_for_update())
        assert doc is not None
        user = session.merge(actor)
        _check_request(session, user, doc)  # again, inside the transaction
        req = CorrectionRequest(
            document_id=doc.id, status="requested", base_version=doc.versions[-1].number, wrong=wrong,
            should_be=should_be, why=why, requested_at=utcnow(), requested_by_id=user.id, decision_note="",
        )  # fmt: skip
        for f, media_type in checked:
            req.evidence.append(
                CorrectionEvidence(
                    filename=f.filename[:255], media_type=media_type, sha256=f.sha256, size=f.size
                )
            )
            track_object(session, content_key(f.sha256), f.sha256, f.size, "content", results[f.sha256])
        session.add(req)
        session.flush()
        write_record(session, "correction", {"op": "request", **_request_body(req, user)})
        record_event(
            session, "correction.request", actor=user, document_id=doc.id, organisation_id=doc.school_id,
            detail={"correction": req.id, "type": doc.type_code, "year": doc.school_year,
                    "evidence": len(checked)},
        )  # fmt: skip
        session.expunge(req)
        return req


def _request_body(req: CorrectionRequest, user: User) -> dict[str, object]:
    return {
        "id": req.id, "document_id": req.document_id, "by": user.username, "base_version": req.base_version,
        "wrong": req.wrong, "should_be": req.should_be, "why": req.why,
        "evidence": [
            {"filename": e.filename, "media_type": e.media_type, "sha256": e.sha256, "size": e.size}
            for e in req.evidence
        ],
    }  # fmt: skip


def _check_request(session: Session, user: User, doc: Document) -> None:
    authorize(session, user, "correction.request", doc.school, document_id=doc.id)
    if doc.status != "active":
        raise Conflict("Hồ sơ không còn hiệu lực.", "The record is not active.", code="not_active")
    if locks.find_lock(session, doc.school_id, doc.type_code, doc.school_year) is None:
        raise Conflict(
            "Hồ sơ chưa bị khóa: hãy sửa hoặc thay tệp trực tiếp, không cần đề nghị chỉnh sửa.",
            "The record is not locked: change it directly, no correction is needed.",
            code="not_locked",
        )
    if open_request(session, doc.id) is not None:
        raise Conflict(
            "Hồ sơ này đã có một đề nghị chỉnh sửa đang xử lý.",
            "This record already has a correction in progress.",
            code="correction_open",
        )


def open_request(session: Session, doc_id: str) -> CorrectionRequest | None:
    return session.scalar(
        select(CorrectionRequest).where(
            CorrectionRequest.document_id == doc_id, CorrectionRequest.status.in_(OPEN)
        )
    )


def get_request(session: Session, correction_id: int) -> CorrectionRequest:
    req = session.get(CorrectionRequest, correction_id)
    if req is None:
        raise NotFound(
            f"Không tìm thấy đề nghị chỉnh sửa số {correction_id}",
            f"No correction {correction_id}",
            code="correction_not_found",
        )
    return req


def decide(session: Session, req: CorrectionRequest, *, actor: User, approve: bool, note: str) -> None:
    """The principal approves or refuses (a reason is required for a refusal) in the caller's transaction."""
    authorize(session, actor, "correction.approve", req.document.school, document_id=req.document_id)
    note = note.strip()
    if not approve and not note:
        raise InvalidInput(
            "Hãy ghi lý do từ chối.", "A reason is required to refuse.", code="reason_required"
        )
    if len(note) > 1000:
        raise InvalidInput("Ghi chú quá dài (tối đa 1000 ký tự).", "Note too long.", code="too_long")
    if req.status != "requested":
        raise Conflict(
            f"Đề nghị này đã được xử lý ({STATUS_VI[req.status]}).",
            f"This correction was already decided ({req.status}).",
            code="already_decided",
        )
    req.status = "approved" if approve else "refused"
    req.decided_at, req.decided_by_id, req.decision_note = utcnow(), actor.id, note
    op = "approve" if approve else "refuse"
    write_record(session, "correction", {"op": op, "id": req.id, "by": actor.username, "note": note})
    record_event(
        session, f"correction.{op}", actor=actor, document_id=req.document_id,
        organisation_id=req.document.school_id, detail={"correction": req.id, "note": note},
    )  # fmt: skip


def may_apply(session: Session, user: User, req: CorrectionRequest) -> bool:
    return req.status == "approved" and (
        req.requested_by_id == user.id or locks.is_administrator(session, user, req.document.school)
    )


def check_apply(session: Session, user: User, doc: Document, correction_id: int) -> CorrectionRequest:
    """Raise unless `user` may upload the corrected version of `doc` under `correction_id` now."""
    req = get_request(session, correction_id)
    if req.document_id != doc.id:
        raise InvalidInput(
            "Đề nghị chỉnh sửa này không thuộc hồ sơ này.",
            "This correction belongs to another record.",
            code="wrong_record",
        )
    if req.status != "approved":
        raise Conflict(
            f"Đề nghị chỉnh sửa không ở trạng thái được duyệt ({STATUS_VI[req.status]}).",
            f"The correction is not approved ({req.status}).",
            code="correction_not_approved",
        )
    if not may_apply(session, user, req):
        record_denial(session, user, "correction.apply", doc.school_id, document_id=doc.id)
        raise PermissionDenied(
            "Chỉ người đề nghị hoặc cán bộ quản trị hệ thống được tải phiên bản đã sửa.",
            "Only the requester or the system administrator may upload the corrected version.",
            code="not_your_correction",
        )
    return req


def mark_applied(session: Session, correction_id: int, version: Version, actor: User) -> None:
    """In the transaction that added `version`: the approval is consumed, the lock holds again for everything."""
    req = get_request(session, correction_id)
    req.status = "applied"
    req.applied_at, req.applied_by_id, req.applied_version = utcnow(), actor.id, version.number
    write_record(
        session, "correction",
        {"op": "apply", "id": req.id, "by": actor.username, "version": version.number},
    )  # fmt: skip


def link_record(session: Session, req: CorrectionRequest, record: Document) -> None:
    """The biên bản chỉnh sửa dữ liệu filed for an applied correction."""
    req.record_document_id = record.id
    write_record(session, "correction", {"op": "record", "id": req.id, "record_document_id": record.id})
    record_event(
        session, "correction.record", actor_name="system", document_id=req.document_id,
        organisation_id=req.document.school_id, detail={"correction": req.id, "record": record.id},
    )  # fmt: skip


def of_document(session: Session, doc_id: str) -> list[CorrectionRequest]:
    """A record's corrections, newest first (its page shows them)."""
    return list(
        session.scalars(
            select(CorrectionRequest)
            .where(CorrectionRequest.document_id == doc_id)
            .order_by(CorrectionRequest.requested_at.desc(), CorrectionRequest.id.desc())
        )
    )


def by_record_document(session: Session, record_doc_id: str) -> CorrectionRequest | None:
    """The correction a biên bản was filed for."""
    return session.scalar(
        select(CorrectionRequest).where(CorrectionRequest.record_document_id == record_doc_id)
    )


def records_for(session: Session, doc_ids: list[str]) -> list[Document]:
    """The biên bản (active) filed for corrections of these records."""
    if not doc_ids:
        return []
    return list(
        session.scalars(
            select(Document)
            .join(CorrectionRequest, CorrectionRequest.record_document_id == Document.id)
            .where(CorrectionRequest.document_id.in_(doc_ids), Document.status == "active")
            .order_by(CorrectionRequest.id)
        )
    )


def listed_for(session: Session, user: User, *, status: str | None = None) -> list[CorrectionRequest]:
    """ "Đề nghị chỉnh sửa": the requests of the schools where `user` approves, and the user's own."""
    rows = session.scalars(
        select(CorrectionRequest)
        .join(Document, Document.id == CorrectionRequest.document_id)
        .order_by(CorrectionRequest.requested_at.desc(), CorrectionRequest.id.desc())
    ).all()
    return [
        r
        for r in rows
        if (status is None or r.status == status)
        and (
            r.requested_by_id == user.id
            or permitted(session, user, "correction.approve", r.document.school)
            or (r.status == "approved" and locks.is_administrator(session, user, r.document.school))
        )
    ]


def _approved_for_lock(session: Session, lock: RecordLock, correction_id: int) -> bool:
    req = session.get(CorrectionRequest, correction_id)
    if req is None or req.status != "approved":
        return False
    doc = req.document
    return (doc.school_id, doc.type_code, doc.school_year) == (
        lock.school_id,
        lock.type_code,
        lock.school_year,
    )


locks.correction_check = _approved_for_lock
