"""The media register's table (sổ theo dõi vật mang tin; issue 13, migration 0010)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import utcnow
from archive.models import Base


class MediaExport(Base):
    """One row of the media register (sổ theo dõi vật mang tin)."""

    __tablename__ = "media_exports"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    school_year: Mapped[str] = mapped_column(String(9))
    types: Mapped[str] = mapped_column(String(500), default="")  # comma-separated codes; empty: every type
    documents: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    tagmanifest_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(
        String(300), default=""
    )  # where it was written, as the operator named it
    actor: Mapped[str] = mapped_column(String(64), default="system")
    renewed_at: Mapped[datetime | None] = mapped_column()  # set when a newer export replaces this medium
