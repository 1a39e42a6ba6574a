"""The biên bản chỉnh sửa dữ liệu (Công văn 1370 Phụ lục II.2) of an applied correction: drawn as a PDF in the
NĐ 30/2020 layout (school header, number, date, the record, what was changed from what to what, when, by whom, the
evidence listed), filed as a document of type `bien-ban-chinh-sua-du-lieu` in the record's school and year — so it is
kept under that type's retention (until the students of that year leave the school) — and signed through its chain:
the requester, the system administrator, the principal (archive/data/signing-chains.csv). The facts are embedded
as JSON too, like the other biên bản hoso writes."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from archive import chains, corrections, record_changes
from archive.context import Archive
from archive.correction_models import CorrectionRequest
from archive.documents import get_document
from archive.errors import ArchiveError
from archive.events import record_event
from archive.ingest import ingest_stream
from archive.models import User

from .inspection_report import vn_time
from .pdf_text import Report, with_json
from .rules import VN_TZ

TYPE = "bien-ban-chinh-sua-du-lieu"
JSON_NAME = "bien-ban-chinh-sua.json"
log = logging.getLogger(__name__)


def _person(user: Any) -> str:
    return (user.full_name or user.username) if user is not None else "—"


def facts(session: Session, req: CorrectionRequest) -> dict[str, Any]:
    """What the biên bản states, as plain data (rendered, and embedded as JSON)."""
    doc = req.document
    versions = {v.number: v for v in doc.versions}
    applied = versions.get(req.applied_version or 0)
    base = versions.get(req.base_version)
    school = doc.school
    return {
        "correction": req.id,
        "number": f"{req.id}/BB-CSDL",
        "school": {"code": school.code, "name": school.name, "parent": school.parent.name if school.parent else ""},
        "record": {
            "id": doc.id, "title": doc.title, "type": doc.doc_type.name_vi, "type_code": doc.type_code,
            "year": doc.school_year, "class_name": doc.class_name or "", "teacher": doc.teacher or "",
        },
        "wrong": req.wrong,
        "should_be": req.should_be,
        "why": req.why,
        "requested": {"by": _person(req.requested_by), "at": req.requested_at.isoformat()},
        "approved": {
            "by": _person(req.decided_by), "at": req.decided_at.isoformat() if req.decided_at else None,
            "note": req.decision_note,
        },
        "applied": {
            "by": _person(req.applied_by), "at": req.applied_at.isoformat() if req.applied_at else None,
            "from_version": req.base_version, "from_sha256": base.sha256 if base else "",
            "to_version": req.applied_version, "to_sha256": applied.sha256 if applied else "",
        },
        "evidence": [
            {"filename": e.filename, "media_type": e.media_type, "sha256": e.sha256, "size": e.size}
            for e in req.evidence
        ],
    }  # fmt: skip


def render(data: dict[str, Any], *, now: datetime) -> bytes:
    local = now.astimezone(VN_TZ)
    school, rec, applied = data["school"], data["record"], data["applied"]
    r = Report("Biên bản chỉnh sửa dữ liệu", school["name"])
    r.header(
        parent=school["parent"] or "", issuer=school["name"], number=data["number"],
        when=f"ngày {local:%d} tháng {local:%m} năm {local:%Y}", kind="BIÊN BẢN",
        summary=f"Chỉnh sửa dữ liệu: {rec['title']}",
    )  # fmt: skip
    line = r.line
    line(
        "Căn cứ Công văn 1370/SGDĐT-GDTrH&TX, Phụ lục II.2: dữ liệu đã khóa chỉ được chỉnh sửa khi có đề nghị kèm "
        "minh chứng, được Hiệu trưởng phê duyệt; sau khi sửa, hệ thống khóa lại ngay.",
        8.5,
    )
    r.space(4)
    line("1. Hồ sơ được chỉnh sửa", 11, bold=True)
    line(f"{rec['type']}: {rec['title']}", indent=10)
    line(
        f"Năm học {rec['year']}" + (f"; lớp {rec['class_name']}" if rec["class_name"] else "")
        + (f"; giáo viên {rec['teacher']}" if rec["teacher"] else "") + f"; mã hồ sơ {rec['id']}",
        9, indent=10,
    )  # fmt: skip
    line("2. Nội dung chỉnh sửa", 11, bold=True)
    line(f"Nội dung sai: {data['wrong']}", indent=10)
    line(f"Sửa thành: {data['should_be']}", indent=10)
    line(f"Lý do: {data['why']}", indent=10)
    line(
        f"Từ phiên bản {applied['from_version']} (SHA-256 {applied['from_sha256']}) sang phiên bản "
        f"{applied['to_version']} (SHA-256 {applied['to_sha256']})",
        8.5, indent=10,
    )  # fmt: skip
    line("3. Quá trình", 11, bold=True)
    line(f"Đề nghị: {data['requested']['by']}, lúc {vn_time(data['requested']['at'])}", indent=10)
    approval = data["approved"]
    note = f" — {approval['note']}" if approval["note"] else ""
    line(f"Phê duyệt: {approval['by']} (Hiệu trưởng), lúc {vn_time(approval['at'])}{note}", indent=10)
    line(
        f"Thực hiện chỉnh sửa: {applied['by']}, lúc {vn_time(applied['at'])}; hồ sơ được khóa lại ngay",
        indent=10,
    )
    line("4. Minh chứng kèm theo (lưu cùng biên bản)", 11, bold=True)
    for i, e in enumerate(data["evidence"], start=1):
        line(f"{i}. {e['filename']} — {e['size']} byte — SHA-256 {e['sha256']}", 8.5, indent=10)
    # no signature titles here: each signer's block (title, signature, name) is drawn where the chain's layout puts
    # it (archive/chain_layout.py), under the text
    return with_json(r.finish(), JSON_NAME, data, "Số liệu của biên bản / the record's data")


def file_record(archive: Archive, correction_id: int) -> str | None:
    """File the biên bản of an applied correction (once: a second call returns the same document id) and open its
    chain. None when filing is refused (the biên bản type locked for that year …): the refusal is recorded."""
    with archive.sessions() as session:
        req = corrections.get_request(session, correction_id)
        if req.record_document_id is not None:
            return req.record_document_id
        if req.status != "applied":
            return None
        data = facts(session, req)
        school_id = req.document.school_id
    pdf = render(data, now=datetime.now(UTC))
    rec = data["record"]
    try:
        result = ingest_stream(
            archive, io.BytesIO(pdf), filename=f"bien-ban-chinh-sua-{correction_id}.pdf", school=data["school"]["code"],
            type_code=TYPE, year=rec["year"], title=f"Biên bản chỉnh sửa dữ liệu số {data['number']} — {rec['title']}",
            class_name=rec["class_name"] or None,
        )  # fmt: skip
    except ArchiveError as exc:
        log.warning("correction %s: biên bản not filed: %s", correction_id, exc)
        with archive.sessions() as session, session.begin():
            record_event(
                session, "correction.record_not_filed", actor_name="system", organisation_id=school_id,
                outcome="error", detail={"correction": correction_id, "error": exc.code},
            )  # fmt: skip
        return None
    with archive.sessions() as session, session.begin():
        req = corrections.get_request(session, correction_id)
        record = get_document(session, result.document.id)
        corrections.link_record(session, req, record)
        session.flush()
        chains.reassign_waiting(session, record)
        return record.id


def apply_correction(
    archive: Archive, correction_id: int, path: Path, *, filename: str, sha256: str, size: int, actor: User
) -> str | None:
    """Store the one corrected version an approved correction lets in (the record is locked again in the same
    commit), then file its biên bản; returns the biên bản's document id (None if filing was refused)."""
    with archive.sessions() as session:
        doc_id = corrections.get_request(session, correction_id).document_id
    record_changes.replace_file(
        archive, doc_id, path, filename=filename, sha256=sha256, size=size,
        reason=f"Chỉnh sửa theo đề nghị số {correction_id} đã được duyệt", actor=actor, correction_id=correction_id,
    )  # fmt: skip
    return file_record(archive, correction_id)
