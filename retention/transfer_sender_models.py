"""The transfer sender registry's table (issue 13, migration 0014)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import utcnow
from archive.models import Base, Organisation


class TransferSender(Base):
    """A partner school whose transfer packages a receiving school accepts: the SHA-256 of the certificate that seals
    its packages (its hoso's seal), registered once by the receiving school instead of typed at every import."""

    __tablename__ = "transfer_senders"
    __table_args__ = (UniqueConstraint("school_id", "seal_sha256", name="uq_transfer_senders_school_seal"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the receiving school
    sender_code: Mapped[str] = mapped_column(String(32))  # the sending school's code, as its packages name it
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    seal_sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(64), default="system")

    school: Mapped[Organisation] = relationship()
