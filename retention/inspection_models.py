"""Catalog table of inspection packages (issue 13; migration 0010).

A package is its listing: which version of which document went in under which name, with size, SHA-256 and CRC-32,
plus the evidence report's files (kept in every replica like any export). The ZIP itself is never stored: it is a
pure function of this row (retention/inspection_zip.py), so every download, resumed download and e-mail delivery of
the package gives the same bytes. Deliveries are events in the audit trail (`inspection.download`, `inspection.email`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import utcnow
from archive.models import Base, new_uuid


class InspectionPackage(Base):
    __tablename__ = "inspection_packages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")  # username at the time, or "system"
    # what was asked for: schools, years, types, classes, ticked documents
    selection: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{name, kind: document|report, document_id, version, sha256, size, crc32, key}], in ZIP order
    entries: Mapped[dict[str, Any]] = mapped_column(default=dict)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    zip_size: Mapped[int] = mapped_column(BigInteger, default=0)
    report_sha256: Mapped[str] = mapped_column(String(64), default="")
