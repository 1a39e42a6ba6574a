"""Catalog tables for the two-step (deferred) signing flow: the server keeps the prepared document here until the
signer's own token returns the signature value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import utcnow
from .models import Base, new_uuid


class SigningSession(Base):
    __tablename__ = "signing_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    base_version: Mapped[int] = mapped_column(Integer)  # the version the prepared document was built from
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending / completed / failed / expired
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(300), default="")
    level: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(Text)  # signing.DeferredState JSON (prepared PDF, signed attributes …)
    request: Mapped[str] = mapped_column(Text)  # what was handed to the signer (no document bytes)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    result_version: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(1000), default="")
