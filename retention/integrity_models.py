"""Catalog tables owned by retention/ (integrity_models); they share archive.models.Base so one migration history covers all.

- fixity_runs: one row per run *slot*. Several workers firing the same scheduled job share the row (unique slot), so a
  full-fixity slice's quota is computed once and consumed once, whoever does the work.
- job_claims: one row per (job, slot) for jobs that must run once per slot across all workers (WORM canary, metadata
  export, signature upkeep). Whoever inserts the row runs the job; the others see the unique violation and skip.
- signature_upkeep: what `inspect()` said about a signed version (newest timestamp's expiry and algorithm), so the
  daily upkeep reads a PDF once per version instead of every PDF every day.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import utcnow
from archive.models import Base


class FixityRun(Base):
    __tablename__ = "fixity_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    slot: Mapped[str] = mapped_column(String(100), unique=True)  # "full:<interval number>", "manual:<uuid>"
    kind: Mapped[str] = mapped_column(String(10))  # light / full
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    quota: Mapped[int | None] = mapped_column(Integer)  # copies the run may claim; None = every due copy
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    copies_checked: Mapped[int] = mapped_column(Integer, default=0)
    bytes_checked: Mapped[int] = mapped_column(BigInteger, default=0)
    damage_found: Mapped[int] = mapped_column(Integer, default=0)
    repaired: Mapped[int] = mapped_column(Integer, default=0)
    unrepairable: Mapped[int] = mapped_column(Integer, default=0)
    workers: Mapped[int] = mapped_column(Integer, default=0)  # how many worker passes reported into this run


class JobClaim(Base):
    __tablename__ = "job_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(50))
    slot: Mapped[str] = mapped_column(String(100))
    worker: Mapped[str] = mapped_column(String(200), default="")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("job", "slot"),)


class SignatureUpkeep(Base):
    __tablename__ = "signature_upkeep"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)  # newest document timestamp's cert expiry
    algorithm: Mapped[str | None] = mapped_column(String(100))
    inspected_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_by_version_id: Mapped[int | None] = mapped_column(Integer)  # set once a renewal version exists
    detail: Mapped[str] = mapped_column(String(1000), default="")
