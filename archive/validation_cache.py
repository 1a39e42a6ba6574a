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
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import x509
from sqlalchemy import Integer, Select, String, UniqueConstraint, and_, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from signing import trust as signing_trust

from .db import utcnow
from .documents import ensure_not_disposed, get_document
from .errors import NotFound
from .models import Base, Document, Version

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


# trust roots' fingerprint (what a stat of their files says) -> their version; a handful of stores per process
_versions: dict[tuple[Any, ...], str] = {}


def trust_version(roots: list[Any]) -> str:
    """The digest of every trusted certificate. The files are read again whenever a stat of them (or of the folders
    holding them) differs from the last reading, so a changed trust store is seen at once without reading and parsing
    every certificate on each request."""
    try:
        key = tuple(_fingerprint(roots))
    except OSError:  # a root gone or unreadable: let the reading below say which
        key = None
    if key is not None and key in _versions:
        return _versions[key]
    ders = sorted(c.dump() for c in signing_trust.load_certificates(roots))
    version = hashlib.sha256(b"".join(hashlib.sha256(d).digest() for d in ders)).hexdigest()
    if key is not None:
        if len(_versions) >= 16:
            _versions.clear()
        _versions[key] = version
    return version


def _fingerprint(roots: list[Any]) -> Iterator[tuple[Any, ...]]:
    for item in roots:
        if isinstance(item, x509.Certificate):
            yield ("cert", item.dump())
            continue
        path = Path(item)
        st = os.stat(path)
        yield (str(path), *_stat_key(st))
        if path.is_dir():  # the folder's own mtime changes when a file is added, removed or renamed in it
            for entry in sorted(os.scandir(path), key=lambda e: e.name):
                if Path(entry.name).suffix.lower() in signing_trust.CERT_SUFFIXES:
                    yield (entry.name, *_stat_key(entry.stat()))


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    # ctime moves on every write or rename and cannot be set back by utime, so a rewritten file is always seen
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def bucket_of(at: datetime | None) -> datetime:
    moment = at or utcnow()
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # naive: UTC
    start = datetime(2000, 1, 1, tzinfo=UTC)
    return start + (moment - start) // BUCKET * BUCKET


@dataclass(frozen=True)
class Found:
    """What validating a stored version needs from the catalog, and its cached report if there is one."""

    doc: Document  # transient: id, school_id and status only (what the audit event names)
    sha256: str
    media_type: str
    size: int
    filename: str
    report: dict[str, Any] | None


def _lookup_statement(current: bool) -> Select[Any]:
    newest = aliased(Version)
    number: Any = (
        select(func.max(newest.number))
        .where(newest.document_id == Document.id)
        .correlate(Document)
        .scalar_subquery()
        if current
        else bindparam("number", type_=Integer)
    )
    return (
        select(
            Document.id,
            Document.school_id,
            Document.status,
            Version.sha256,
            Version.media_type,
            Version.size,
            Version.original_filename,
            ValidationReport.report,
        )  # fmt: skip
        .select_from(Document)
        .outerjoin(Version, and_(Version.document_id == Document.id, Version.number == number))
        .outerjoin(
            ValidationReport,
            and_(
                ValidationReport.sha256 == Version.sha256,
                ValidationReport.trust_version == bindparam("trust"),
                ValidationReport.bucket == bindparam("bucket"),
            ),
        )
        .where(Document.id == bindparam("doc_id"))
    )


# built once: constructing the statement on each request cost more than running it
_CURRENT, _NUMBERED = _lookup_statement(True), _lookup_statement(False)


def lookup(session: Session, doc_id: str, number: int | None, version: str, bucket: datetime) -> Found:
    """The document's version `number` (None: the current one) and the cached report of its bytes, in ONE statement
    (columns, not entities: no ORM identity work on the cached path); the same refusals as
    documents.stored_version (unknown document, disposed, unknown version)."""
    params: dict[str, Any] = {"doc_id": doc_id, "trust": version, "bucket": bucket}
    if number is not None:
        params["number"] = number
    row = session.execute(_CURRENT if number is None else _NUMBERED, params).first()
    if row is None:
        raise NotFound(f"Không tìm thấy hồ sơ {doc_id}", f"No document {doc_id}", code="document_not_found")
    if row.status == "disposed":
        ensure_not_disposed(session, get_document(session, doc_id))  # raises Gone with the tombstone
    if row.sha256 is None:
        raise NotFound(f"Không có phiên bản {number}", f"No version {number}", code="version_not_found")
    doc = Document(id=row.id, school_id=row.school_id, status=row.status)
    return Found(doc, row.sha256, row.media_type, row.size, row.original_filename, row.report)


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
