"""Catalog tables (SQLAlchemy 2). Schema changes go through Alembic migrations in hoso/migrations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .db import UTCDateTime, utcnow
from .search_text import document_search_text

ORG_KINDS = ("so", "phong", "truong")
LEVELS = ("THCS", "THPT", "GDTX", "multi")
REPLICA_STATES = ("ok", "missing", "corrupt", "unreachable", "pending")


def new_uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # so / phong / truong
    level: Mapped[str | None] = mapped_column(String(40))  # THCS, THPT, GDTX, or several joined by ','
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])

    @property
    def levels(self) -> list[str]:
        return [x for x in (self.level or "").split(",") if x]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_system_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # optional second factor (RFC 6238); enabled only after the person confirms one code from their app. Stored as
    # `fernet:<token>` (archive/secrets_box.py, ~150 characters), never the base32 secret itself
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # refuses replaying the same code

    organisation: Mapped[Organisation | None] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(
        String(64), unique=True
    )  # sha256 of the secret; the secret is never stored
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token in lists
    name: Mapped[str] = mapped_column(String(100), default="")
    scopes: Mapped[str] = mapped_column(String(200), default="*")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


class DocumentType(Base):
    __tablename__ = "document_types"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    kept_by: Mapped[str] = mapped_column(String(32), default="truong")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    signers_in_order: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("document_types.code"))
    school_year: Mapped[str] = mapped_column(String(9))  # 2024-2025
    title: Mapped[str] = mapped_column(String(500))
    class_name: Mapped[str | None] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(100))
    teacher: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active / disposed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # title, class, subject and teacher folded (archive/search_text.py), kept by the listener below (migration 0009)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    school: Mapped[Organisation] = relationship()
    doc_type: Mapped[DocumentType] = relationship()
    created_by: Mapped[User | None] = relationship()
    versions: Mapped[list[Version]] = relationship(back_populates="document", order_by="Version.number")

    __table_args__ = (
        Index("ix_documents_school_type_year", "school_id", "type_code", "school_year"),
        # lists are newest first, of one school or of every school a person reads (migration 0018)
        Index("ix_documents_created", "created_at"),
        Index("ix_documents_school_created", "school_id", "created_at"),
    )

    @property
    def current(self) -> Version | None:
        return self.versions[-1] if self.versions else None


@event.listens_for(Document, "before_insert")
@event.listens_for(Document, "before_update")
def _fold_search_text(_mapper: object, _connection: object, doc: Document) -> None:
    # every writer (ingest, rebuild, an edit of the details) goes through here, so the folded copy never goes stale
    doc.search_text = document_search_text(doc.title, doc.class_name, doc.subject, doc.teacher)


class Version(Base):
    """Immutable: a new file (a signature, a correction) is a new version; rows are never updated in place."""

    __tablename__ = "versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    original_filename: Mapped[str] = mapped_column(String(255))
    page_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    previous_manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    signed: Mapped[bool] = mapped_column(Boolean, default=False)
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("document_id", "number"),)


class StoredObject(Base):
    """One object (content, manifest, export) that must exist in every replica store."""

    __tablename__ = "stored_objects"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # content / manifest / export
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    copies: Mapped[list[ReplicaCopy]] = relationship(back_populates="object", order_by="ReplicaCopy.id")


class ReplicaCopy(Base):
    __tablename__ = "replica_copies"
    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("stored_objects.id"), index=True)
    store_url: Mapped[str] = mapped_column(String(500))
    # indexed: the year overview and the "damaged" filters start from the few copies not "ok" (migration 0019)
    state: Mapped[str] = mapped_column(String(20), default="ok", index=True)
    checked_at: Mapped[datetime | None] = mapped_column()  # last light check (exists, size, stored checksum)
    verified_at: Mapped[datetime | None] = mapped_column()  # last full re-read and SHA-256
    detail: Mapped[str] = mapped_column(String(1000), default="")

    object: Mapped[StoredObject] = relationship(back_populates="copies")

    __table_args__ = (
        UniqueConstraint("object_id", "store_url"),
        # fixity claims its next batch by these, so a batch costs the same over 15 M copies as over 15 (0018)
        Index("ix_replica_copies_checked", "checked_at", "id"),
        Index("ix_replica_copies_verified", "verified_at", "id"),
        Index(
            "ix_replica_copies_damaged",
            "id",
            postgresql_where=text("state <> 'ok'"),
            sqlite_where=text("state <> 'ok'"),
        ),
    )


class Event(Base):
    """Append-only, hash-chained: each event carries the previous one's hash (see archive/events.py)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")  # username at the time, or "system"
    action: Mapped[str] = mapped_column(String(64), index=True)
    document_id: Mapped[str | None] = mapped_column(String(36), index=True)
    version_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ChainHead(Base):
    """One row; locked FOR UPDATE while appending so concurrent writers keep the chain linear."""

    __tablename__ = "event_chain_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


# --- people, sessions, locks, audit anchors (issue 5; migration 0003) -------------------------------------------------


class RoleAssignment(Base):
    """One role a person holds in one organisation; a person may hold several. Revoking deletes the row (the audit
    trail keeps the history: role.grant / role.revoke events)."""

    __tablename__ = "role_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "role", "organisation_id"),)


class WebSession(Base):
    """A browser session. Only the SHA-256 of the cookie's secret is stored, so a copy of the database cannot be used
    to log in."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed login, keyed by "user:<name>" and by "ip:<address>". Insert-only rows (no counters to race on), so
    several workers share the throttle through the database and it survives restarts."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)


class RecordLock(Base):
    """A school year's records of one type are closed: no new version without an approved correction. Unlocking
    deletes the row; lock.add / lock.remove events keep the history (who, on whose instruction, why)."""

    __tablename__ = "record_locks"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    type_code: Mapped[str] = mapped_column(ForeignKey("document_types.code"))
    school_year: Mapped[str] = mapped_column(String(9))
    locked_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instructed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")

    school: Mapped[Organisation] = relationship()
    locked_by: Mapped[User | None] = relationship(foreign_keys=[locked_by_id])
    instructed_by: Mapped[User | None] = relationship(foreign_keys=[instructed_by_id])

    __table_args__ = (UniqueConstraint("school_id", "type_code", "school_year"),)


class AuditAnchor(Base):
    """An RFC 3161 timestamp over the chain head at one moment; also written to every replica, where a database
    administrator cannot rewrite it together with the events."""

    __tablename__ = "audit_anchors"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    event_hash: Mapped[str] = mapped_column(String(64))
    anchored_at: Mapped[datetime] = mapped_column(default=utcnow)
    tsa_url: Mapped[str] = mapped_column(String(500))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    token_b64: Mapped[str] = mapped_column(Text)
