"""Corrections of locked records (Công văn 1370 Phụ lục II.2; migration 0015): a request on one record (what is wrong,
what it should be, why, with evidence files), the principal's decision, and — once approved — the one new version it
let in and the biên bản chỉnh sửa dữ liệu filed for it. Evidence files are content objects in every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import utcnow
from .models import Base, Document, User

# requested → approved → applied, or requested → refused
STATUSES = ("requested", "approved", "refused", "applied")


class CorrectionRequest(Base):
    __tablename__ = "correction_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    base_version: Mapped[int] = mapped_column(Integer)  # the version found wrong
    wrong: Mapped[str] = mapped_column(Text)  # what is wrong
    should_be: Mapped[str] = mapped_column(Text)  # what it should be
    why: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(String(1000), default="")
    applied_at: Mapped[datetime | None] = mapped_column()
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    applied_version: Mapped[int | None] = mapped_column(Integer)
    # the biên bản chỉnh sửa dữ liệu, a document of type bien-ban-chinh-sua-du-lieu
    record_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))

    document: Mapped[Document] = relationship(foreign_keys=[document_id])
    record_document: Mapped[Document | None] = relationship(foreign_keys=[record_document_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    applied_by: Mapped[User | None] = relationship(foreign_keys=[applied_by_id])
    evidence: Mapped[list[CorrectionEvidence]] = relationship(
        back_populates="correction", order_by="CorrectionEvidence.id", cascade="all, delete-orphan"
    )


class CorrectionEvidence(Base):
    __tablename__ = "correction_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    correction_id: Mapped[int] = mapped_column(ForeignKey("correction_requests.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)

    correction: Mapped[CorrectionRequest] = relationship(back_populates="evidence")
