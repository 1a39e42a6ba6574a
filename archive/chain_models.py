"""Catalog tables of who signs what, in which order (Công văn 1370; NĐ 30/2020):

- `signing_certificates`: the certificates registered to a person's account; a personal signature is accepted only
  with one of them.
- `school_classes`, `class_teachers`, `group_members`: a school's classes, homeroom and subject teachers and
  professional groups for one school year (imported from CSV, editable on the web). The chain steps "homeroom
  teacher", "every subject teacher of the class" and "the uploader's group head" are resolved through them.
- `signing_chain_steps`: the ordered steps per document type, versioned: editing a chain adds a new version, the
  shipped defaults are version 1 (archive/data/signing-chains.csv).
- `signing_requests`: one row per person (or role) and step of a document's chain; a row is `waiting` when its step
  is the one open, `pending` while an earlier step is open. The inbox is the `waiting` rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import utcnow
from .models import Base, Organisation, User


class SigningCertificate(Base):
    __tablename__ = "signing_certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # one certificate, one person
    der: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str] = mapped_column(String(500))
    serial: Mapped[str] = mapped_column(String(100))
    not_before: Mapped[datetime] = mapped_column()
    not_after: Mapped[datetime] = mapped_column()
    check: Mapped[str] = mapped_column(String(1000), default="")  # what was checked at registration
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SchoolClass(Base):
    __tablename__ = "school_classes"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(50))
    homeroom_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    school: Mapped[Organisation] = relationship()
    homeroom: Mapped[User | None] = relationship()
    teachers: Mapped[list[ClassTeacher]] = relationship(
        back_populates="school_class", order_by="ClassTeacher.subject", cascade="all, delete-orphan"
    )


class ClassTeacher(Base):
    __tablename__ = "class_teachers"
    __table_args__ = (UniqueConstraint("class_id", "subject", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_classes.id"), index=True)
    subject: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    school_class: Mapped[SchoolClass] = relationship(back_populates="teachers")
    user: Mapped[User] = relationship()


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "group_name", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    group_name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()


class SigningChainStep(Base):
    __tablename__ = "signing_chain_steps"
    __table_args__ = (UniqueConstraint("type_code", "version", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("document_types.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, … in signing order
    who: Mapped[str] = mapped_column(String(32))  # archive.chains.WHO
    title_vi: Mapped[str] = mapped_column(String(100))  # drawn above the signature: "GIÁO VIÊN CHỦ NHIỆM"
    parallel: Mapped[bool] = mapped_column(Boolean, default=False)  # several people, any order among them
    optional: Mapped[bool] = mapped_column(Boolean, default=False)  # skipped when nobody is assigned
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SigningRequest(Base):
    __tablename__ = "signing_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    chain_version: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(
        Integer, default=1
    )  # a returned record restarts its chain in a new round
    position: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(32))
    title_vi: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(100), default="")  # the subject, for subject teachers
    # the person asked; None for the seal (anyone of the school holding document.seal applies it)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(
        String(20), index=True
    )  # pending / waiting / signed / returned / cancelled
    opened_at: Mapped[datetime | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version_number: Mapped[int | None] = mapped_column(Integer)  # the signed version this step produced
    field_name: Mapped[str] = mapped_column(String(100), default="")
    box: Mapped[str] = mapped_column(
        String(120), default=""
    )  # "page x1 y1 x2 y2", chosen at the first signature
    note: Mapped[str] = mapped_column(String(1000), default="")  # the reason when returned
    notified_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
