"""The bodies of the corrections API (hoso/api/corrections_routes.py), also what the pages show: people by full name,
the record by title, the biên bản with where its signing chain stands."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from archive import chains, corrections
from archive.correction_models import CorrectionRequest
from archive.models import User


def _name(user: User | None) -> str:
    return (user.full_name or user.username) if user is not None else ""


class EvidenceOut(BaseModel):
    id: int
    filename: str
    size: int
    sha256: str
    media_type: str


class CorrectionOut(BaseModel):
    id: int
    status: str = Field(description="requested, approved, refused or applied")
    status_vi: str
    document_id: str
    title: str
    type: str
    type_name: str
    year: str
    school: str
    school_name: str
    class_name: str
    wrong: str
    should_be: str
    why: str
    base_version: int
    requested_by: str
    requested_by_username: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    applied_by: str
    applied_at: datetime | None
    applied_version: int | None
    record_id: str | None = Field(description="The biên bản chỉnh sửa dữ liệu, once filed")
    record_title: str
    record_chain: str = Field(description="Where the biên bản's signing chain stands, in Vietnamese")
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, session: Session, req: CorrectionRequest) -> CorrectionOut:
        doc, record = req.document, req.record_document
        return cls(
            id=req.id, status=req.status, status_vi=corrections.STATUS_VI[req.status], document_id=doc.id,
            title=doc.title, type=doc.type_code, type_name=doc.doc_type.name_vi, year=doc.school_year,
            school=doc.school.code, school_name=doc.school.name, class_name=doc.class_name or "", wrong=req.wrong,
            should_be=req.should_be, why=req.why, base_version=req.base_version,
            requested_by=_name(req.requested_by), requested_by_username=req.requested_by.username,
            requested_at=req.requested_at, decided_by=_name(req.decided_by), decided_at=req.decided_at,
            decision_note=req.decision_note, applied_by=_name(req.applied_by), applied_at=req.applied_at,
            applied_version=req.applied_version, record_id=record.id if record else None,
            record_title=record.title if record else "",
            record_chain=chains.state_of(session, record).label_vi if record else "",
            evidence=[
                EvidenceOut(id=e.id, filename=e.filename, size=e.size, sha256=e.sha256, media_type=e.media_type)
                for e in req.evidence
            ],
        )  # fmt: skip


class DecisionIn(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=1000, description="Required when refusing")
