"""Catalog tables owned by retention/ (models); they share archive.models.Base so one migration history covers all.

Schedules are versioned data: a confirmed value is a NEW row version (the old one gets `superseded_at`), so the
catalog keeps what every row said and when. Disposal keeps tombstones: documents stay with status `disposed`, their
version rows stay, and `disposed_versions` says when and under which batch each version's bytes were destroyed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import utcnow
from archive.models import Base, Document, Organisation, User

HOLD_REASONS = ("inspection", "complaint", "litigation", "other")
BATCH_STATES = ("proposed", "approved", "executing", "executed", "cancelled")


class RetentionSchedule(Base):
    __tablename__ = "retention_schedules"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    legal_text: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # law / guidance / school
    school_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_from_status: Mapped[str] = mapped_column(String(20), default="unverified")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school: Mapped[Organisation | None] = relationship()


class RetentionRule(Base):
    """One version of one schedule row. The current version has superseded_at NULL."""

    __tablename__ = "retention_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_code: Mapped[str] = mapped_column(ForeignKey("retention_schedules.code"))
    type_code: Mapped[str] = mapped_column(ForeignKey("document_types.code"))
    level: Mapped[str] = mapped_column(String(20), default="")
    retention: Mapped[str] = mapped_column(
        String(100)
    )  # "permanent", "5 years", "until the students … leave …"
    counted_from: Mapped[str] = mapped_column(String(30), default="work_end_year")
    status: Mapped[str] = mapped_column(String(20))  # sourced / sourced-medium / unverified
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[datetime | None] = mapped_column()

    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_retention_rules_current", "schedule_code", "type_code", "level"),)


class RetentionEventDate(Base):
    """A confirmed date for an event-based period (e.g. the students concerned left the school)."""

    __tablename__ = "retention_event_dates"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[datetime | None] = mapped_column()


class LegalHold(Base):
    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # inspection / complaint / litigation / other
    reference: Mapped[str] = mapped_column(String(300), default="")  # decision number, complaint file …
    note: Mapped[str] = mapped_column(Text, default="")
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column()
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    release_note: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[Document] = relationship()
    placed_by: Mapped[User | None] = relationship(foreign_keys=[placed_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])


class DisposalBatch(Base):
    __tablename__ = "disposal_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    note: Mapped[str] = mapped_column(Text, default="")
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    executed_at: Mapped[datetime | None] = mapped_column()
    record_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    record_signed: Mapped[bool] = mapped_column(Boolean, default=False)

    school: Mapped[Organisation] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    items: Mapped[list[DisposalItem]] = relationship(back_populates="batch", order_by="DisposalItem.id")
    keys: Mapped[list[DisposalKey]] = relationship(back_populates="batch", order_by="DisposalKey.id")


class DisposalItem(Base):
    __tablename__ = "disposal_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("disposal_batches.id"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    disposable_from: Mapped[date] = mapped_column(Date)
    basis: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the rows that made it due, for the record

    batch: Mapped[DisposalBatch] = relationship(back_populates="items")
    document: Mapped[Document] = relationship()

    __table_args__ = (UniqueConstraint("batch_id", "document_id"),)


class DisposalKey(Base):
    """A store key a batch must delete from every replica; lets an interrupted execution resume."""

    __tablename__ = "disposal_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("disposal_batches.id"), index=True)
    key: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # content / manifest
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending / deleted
    detail: Mapped[str] = mapped_column(String(1000), default="")
    deleted_at: Mapped[datetime | None] = mapped_column()

    batch: Mapped[DisposalBatch] = relationship(back_populates="keys")


class DisposedVersion(Base):
    """Tombstone of a version whose bytes were destroyed (the versions row itself is kept unchanged)."""

    __tablename__ = "disposed_versions"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("disposal_batches.id"), index=True)
    disposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_kept: Mapped[bool] = mapped_column(Boolean, default=False)  # bytes shared with a live document
    number: Mapped[int] = mapped_column(Integer)
