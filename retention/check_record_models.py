"""Catalog table of signed check records (biên bản kiểm tra định kỳ; issue 13, migration 0010)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import utcnow
from archive.models import Base


class CheckRecord(Base):
    """A biên bản kiểm tra định kỳ: what the integrity checks of one period found, signed by the system's seal.

    The PDF is kept in every replica as an export (`exports/check-records/…`), checked by fixity like any copy and
    never deleted: the list of these rows is the backup log Thông tư 02/2019 asks for."""

    __tablename__ = "check_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    trigger: Mapped[str] = mapped_column(String(20))  # cycle (a full-check period ended) / on_demand
    actor: Mapped[str] = mapped_column(String(64), default="system")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
