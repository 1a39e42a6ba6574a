"""Validation reports of stored documents, kept so that showing one again costs a lookup, not a validation.

A report depends on the bytes (their SHA-256: revocation data embedded by B-LT/B-LTA is part of them, and a renewed
timestamp is a new version with a new digest), on the trust roots (their version: the digest of every trusted
certificate, so adding or removing a root misses every older entry), and on the time of validation (a certificate or
a timestamp may expire): reports are kept per BUCKET of validation time. Validation is offline (signing.validate_pdf
never fetches CRL/OCSP), so nothing else enters a verdict. Entries of an older trust version are dropped as new ones
are written.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from signing import trust as signing_trust

from .db import utcnow
from .models import Base

BUCKET = timedelta(hours=1)


class ValidationReport(Base):
    __tablename__ = "validation_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    trust_version: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[datetime] = mapped_column()
    report: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("sha256", "trust_version", "bucket"),)


def trust_version(roots: list[Any]) -> str:
    """The digest of every trusted certificate (files read now, so a changed trust store is seen at once)."""
    ders = sorted(c.dump() for c in signing_trust.load_certificates(roots))
    return hashlib.sha256(b"".join(hashlib.sha256(d).digest() for d in ders)).hexdigest()


def bucket_of(at: datetime | None) -> datetime:
    moment = at or utcnow()
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # naive: UTC
    start = datetime(2000, 1, 1, tzinfo=UTC)
    return start + (moment - start) // BUCKET * BUCKET


def cached(session: Session, sha256: str, version: str, bucket: datetime) -> dict[str, Any] | None:
    return session.scalar(
        select(ValidationReport.report).where(
            ValidationReport.sha256 == sha256,
            ValidationReport.trust_version == version,
            ValidationReport.bucket == bucket,
        )
    )


def keep(session: Session, sha256: str, version: str, bucket: datetime, report: dict[str, Any]) -> None:
    """Store a fresh report (in the caller's transaction); a concurrent request that stored it first wins."""
    session.execute(
        delete(ValidationReport).where(
            ValidationReport.sha256 == sha256, ValidationReport.trust_version != version
        )
    )
    try:
        with session.begin_nested():
            session.add(ValidationReport(sha256=sha256, trust_version=version, bucket=bucket, report=report))
    except IntegrityError:
        pass
