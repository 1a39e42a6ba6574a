"""Mistakes fixed before the lock: replace a record's file with a new version, withdraw a record with a reason, edit its
details (title, class, subject, teacher, type) with the history kept.

Who: the person who uploaded it (while they still hold the right to upload that type at that school) or the school's
office (document.upload there: văn thư, principal, deputy). When: only while the record is active and its school year
and type are not locked; after the lock a change needs the correction procedure (CV 1370). Every change is an event in
the audit trail; a withdrawn record is kept, left out of default lists and never shown to inspectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import content_key

from . import content_checks, corrections, renditions, sniff
from .context import Archive
from .conversion import Converted
from .db import utcnow
from .documents import get_document
from .errors import Conflict, InvalidInput, PermissionDenied
from .events import record_event
from .ingest import add_original, add_version, check_lengths, examine, normalised_pdf, write_copies
from .locks import ensure_unlocked
from .models import Document, DocumentType, User, Version
from .permissions import authorize, permitted, record_denial, upload_action
from .record_models import EDITABLE, DocumentChange
from .state_records import write_record

REASON_MAX = 500
LABELS_VI = {
    "title": "Tên hồ sơ",
    "class_name": "Lớp",
    "subject": "Môn học",
    "teacher": "Giáo viên",
    "type_code": "Loại hồ sơ",
}


def may_change(session: Session, user: User, doc: Document) -> bool:
    """The rule without side effects (for pages deciding what to offer)."""
    if corrections.by_record_document(session, doc.id) is not None:
        return False
    if not permitted(session, user, upload_action(doc.doc_type.kept_by), doc.school):
        return False
    return doc.created_by_id == user.id or permitted(session, user, "document.upload", doc.school)


def check_change(session: Session, user: User, doc: Document) -> None:
    """Raise unless `user` may change `doc` now: the right (recorded refusal), an active record, no lock."""
    authorize(session, user, upload_action(doc.doc_type.kept_by), doc.school, document_id=doc.id)
    if doc.created_by_id != user.id and not permitted(session, user, "document.upload", doc.school):
        record_denial(session, user, "document.change", doc.school_id, document_id=doc.id)
        raise PermissionDenied(
            "Chỉ người đã tải hồ sơ này lên hoặc văn thư của trường được sửa, thay tệp hay rút hồ sơ.",
            "Only the person who uploaded this record, or the school office, may change it.",
            code="not_your_record",
        )
    if doc.status != "active":
        state = "đã rút" if doc.status == "withdrawn" else "đã tiêu hủy"
        raise Conflict(
            f"Hồ sơ {state}; không sửa được nữa.", f"The record is {doc.status}; it cannot be changed.",
            code="not_active",
        )  # fmt: skip
    if corrections.by_record_document(session, doc.id) is not None:
        raise Conflict(
            "Đây là biên bản chỉnh sửa dữ liệu do hệ thống lập; không sửa, thay tệp hay rút được.",
            "This is a correction record written by the system; it cannot be changed, replaced or withdrawn.",
            code="system_record",
        )
    ensure_unlocked(session, doc.school_id, doc.type_code, doc.school_year)


def _reason(reason: str, *, required: bool) -> str:
    text = " ".join(reason.split())
    if required and not text:
        raise InvalidInput("Hãy ghi lý do.", "A reason is required.", code="reason_required")
    if len(text) > REASON_MAX:
        raise InvalidInput(
            f"Lý do quá dài (tối đa {REASON_MAX} ký tự).",
            f"Reason too long (at most {REASON_MAX}).",
            code="too_long",
        )
    return text


def edit_details(
    session: Session, doc: Document, *, actor: User, values: Mapping[str, str | None], reason: str = ""
) -> list[DocumentChange]:
    """Apply the changed fields of `values` (keys of EDITABLE; "" or None clears an optional field) in the caller's
    transaction; one DocumentChange per field and one document.edit event."""
    check_change(session, actor, doc)
    why = _reason(reason, required=False)
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"Không sửa được: {', '.join(sorted(unknown))}", f"Not editable: {unknown}")
    clean = {k: (v or "").strip() or None for k, v in values.items()}
    if "title" in clean and not clean["title"]:
        raise InvalidInput(
            "Tên hồ sơ không được để trống.", "The title cannot be empty.", code="title_required"
        )
    check_lengths(**{k: v for k, v in clean.items() if k != "type_code"})
    diff = {k: (getattr(doc, k), v) for k, v in clean.items() if v != getattr(doc, k)}
    if not diff:
        raise InvalidInput("Không có thông tin nào thay đổi.", "Nothing was changed.", code="nothing_changed")
    if "type_code" in diff:
        new_type = session.get(DocumentType, diff["type_code"][1] or "")
        if new_type is None:
            raise InvalidInput("Loại hồ sơ không hợp lệ.", "Unknown document type.", code="unknown_type")
        # the new type must be one this person may upload, and its year must be open too
        authorize(session, actor, upload_action(new_type.kept_by), doc.school, document_id=doc.id)
        ensure_unlocked(session, doc.school_id, new_type.code, doc.school_year)
        doc.doc_type = new_type
    for field, (_old, new) in diff.items():
        if field != "type_code":
            setattr(doc, field, new)
    changes = {k: [o, n] for k, (o, n) in diff.items()}
    write_record(
        session, "edit", {"document_id": doc.id, "by": actor.username, "changes": changes, "reason": why}
    )
    event = record_event(
        session,
        "document.edit",
        actor=actor,
        document_id=doc.id,
        organisation_id=doc.school_id,
        detail={"changes": {k: [o, n] for k, (o, n) in diff.items()}, "reason": why},
    )
    now = utcnow()
    rows = [
        DocumentChange(
            document_id=doc.id,
            changed_at=now,
            changed_by_id=actor.id,
            field=field,
            old_value=old,
            new_value=new,
            reason=why,
            event_id=event.id,
        )  # fmt: skip
        for field, (old, new) in diff.items()
    ]
    session.add_all(rows)
    session.flush()
    return rows


def withdraw(session: Session, doc: Document, *, actor: User, reason: str) -> None:
    """The record leaves the default lists and the inspectors' sight; it is kept (files, versions, history)."""
    check_change(session, actor, doc)
    why = _reason(reason, required=True)
    doc.status = "withdrawn"
    write_record(session, "withdrawal", {"document_id": doc.id, "by": actor.username, "reason": why})
    record_event(
        session, "document.withdraw", actor=actor, document_id=doc.id, organisation_id=doc.school_id,
        detail={"reason": why, "type": doc.type_code, "year": doc.school_year},
    )  # fmt: skip


def replace_file(
    archive: Archive,
    doc_id: str,
    path: Path,
    *,
    filename: str,
    sha256: str,
    size: int,
    reason: str,
    actor: User,
    correction_id: int | None = None,
) -> Version:
    """The file `path` becomes the record's next version (the earlier ones stay). The same checks as an upload, copies
    written and verified before the catalog changes. With `correction_id`, the record is locked and the version is
    the one an approved correction lets in (archive/corrections.py); the approval is consumed in the same commit."""
    why = _reason(reason, required=True)
    with archive.sessions() as session:
        doc = get_document(session, doc_id)
        _check(session, session.merge(actor), doc, correction_id)
        current = doc.versions[-1]
        original = renditions.originals_of(session, [current.id]).get(current.id)
        if sha256 in (
            current.sha256,
            original.sha256 if original else None,
        ):  # the file sent, or what it became
            raise Conflict(
                "Tệp này giống hệt phiên bản hiện tại; không có gì để thay.",
                "The file is identical to the current version.",
                code="same_file",
            )
        base, type_code = current.number, doc.type_code
    media_type, stored_name, page_count, signed, validation = examine(archive, path, filename)
    # an unsigned PDF becomes PDF/A-2b before anyone signs it, as at upload; the file sent is kept as the original
    kept = (
        normalised_pdf(archive, path, stored_name, sha256, size)
        if media_type == sniff.PDF and not signed
        else None
    )
    try:
        return _replace(
            archive, doc_id, path, kept, media_type=media_type, stored_name=stored_name, page_count=page_count,
            signed=signed, validation=validation, sha256=sha256, size=size, base=base, type_code=type_code,
            why=why, actor=actor, correction_id=correction_id,
        )  # fmt: skip
    finally:
        if kept is not None:
            kept.pdfa_path.unlink(missing_ok=True)


def _replace(
    archive: Archive,
    doc_id: str,
    path: Path,
    kept: Converted | None,
    *,
    media_type: str,
    stored_name: str,
    page_count: int | None,
    signed: bool,
    validation: dict[str, object] | None,
    sha256: str,
    size: int,
    base: int,
    type_code: str,
    why: str,
    actor: User,
    correction_id: int | None,
) -> Version:
    original_results = write_copies(archive, content_key(sha256), path, sha256) if kept else []
    if kept is not None:
        path, sha256, size = kept.pdfa_path, kept.pdfa_sha256, kept.pdfa_size
    results = write_copies(archive, content_key(sha256), path, sha256)
    findings = content_checks.inspect(path, media_type, type_code)
    with archive.sessions() as session, session.begin():
        row = session.scalar(select(Document).where(Document.id == doc_id).with_for_update())
        assert row is not None  # documents are never deleted (disposal keeps a tombstone)
        doc = row
        _check(session, session.merge(actor), doc, correction_id)  # again: a lock may have come meanwhile
        if doc.versions[-1].number != base:
            raise Conflict(
                "Hồ sơ vừa có phiên bản mới; hãy tải lại trang rồi thực hiện lại.",
                "The record has just got a new version; reload and retry.",
                code="version_conflict",
            )
        version = add_version(
            archive, session, doc, sha256=sha256, size=size, media_type=media_type, filename=stored_name,
            page_count=page_count, signed=signed, validation=validation, reason=why, actor=actor,
            content_results=results, event="correction.apply" if correction_id else "document.replace",
            event_detail=({"converted_from": kept.media_type, "original_sha256": kept.sha256} if kept else {})
            | ({"correction": correction_id} if correction_id else {}),
            correction_id=correction_id,
        )  # fmt: skip
        if kept is not None:
            add_original(session, version, kept, original_results)
        content_checks.record(session, version, findings)
        if correction_id is not None:
            corrections.mark_applied(session, correction_id, version, session.merge(actor))
        return version


def _check(session: Session, user: User, doc: Document, correction_id: int | None) -> None:
    if correction_id is None:
        check_change(session, user, doc)
    else:
        corrections.check_apply(session, user, doc, correction_id)


def history(session: Session, doc_id: str) -> list[DocumentChange]:
    return list(
        session.scalars(
            select(DocumentChange)
            .where(DocumentChange.document_id == doc_id)
            .order_by(DocumentChange.changed_at.desc(), DocumentChange.id.desc())
        )
    )
