"""Other forms of a version's file kept beside it: ``original``, the Office file a teacher uploaded, whose PDF/A
conversion (archive/conversion.py) is the version itself — what is shown, validated and signed; and ``ocr_text``,
the text OCR read from a scanned PDF (archive/ocr.py).

The original is stored like any content (addressed by its SHA-256 in every replica, tracked for fixity) and served
on request (`GET /api/v1/documents/{id}/content?rendition=original`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .context import Archive
from .db import utcnow
from .documents import Content, ensure_not_disposed, get_document, open_verified_content
from .errors import InvalidInput, NotFound
from .models import Base, Document, User, Version

ORIGINAL = "original"
OCR_TEXT = "ocr_text"  # the text OCR read from a scan (UTF-8), see archive/ocr.py
KINDS = (ORIGINAL, OCR_TEXT)


class Rendition(Base):
    __tablename__ = "renditions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("version_id", "kind"),)


def document_with_original(session: Session, school_id: int, type_code: str, sha256: str) -> Document | None:
    """The live record of that school and type whose original upload had these bytes (a repeated upload)."""
    return session.scalar(
        select(Document)
        .join(Version, Version.document_id == Document.id)
        .join(Rendition, Rendition.version_id == Version.id)
        .where(Document.school_id == school_id, Document.type_code == type_code)
        .where(Rendition.kind == ORIGINAL, Rendition.sha256 == sha256, Document.status != "disposed")
    )


def originals_of(session: Session, version_ids: list[int]) -> dict[int, Rendition]:
    rows = session.scalars(
        select(Rendition).where(Rendition.version_id.in_(version_ids), Rendition.kind == ORIGINAL)
    )
    return {r.version_id: r for r in rows}


def open_rendition(
    archive: Archive, doc_id: str, kind: str, *, version: int | None = None, actor: User | None = None
) -> Content:
    """The bytes of a version's rendition, from a verified replica copy."""
    if kind not in KINDS:
        raise InvalidInput(
            f"Không có dạng tệp «{kind}» (chỉ có: {', '.join(KINDS)})",
            f"No rendition {kind!r} (known: {', '.join(KINDS)})",
            code="unknown_rendition",
        )
    with archive.sessions() as session:
        doc = get_document(session, doc_id)
        ensure_not_disposed(session, doc)
        v = doc.current if version is None else next((x for x in doc.versions if x.number == version), None)
        if v is None:
            raise NotFound(f"Không có phiên bản {version}", f"No version {version}", code="version_not_found")
        # a signed version's original is the one of the first version: signing never changes the source
        first = doc.versions[0]
        r = session.scalar(
            select(Rendition)
            .where(Rendition.version_id.in_([v.id, first.id]), Rendition.kind == kind)
            .order_by(Rendition.version_id.desc())
            .limit(1)
        )
        if r is None:
            raise NotFound(
                f"Hồ sơ này không có dạng «{kind}» (tệp tải lên chính là tệp đang lưu)",
                f"This record has no {kind!r} rendition (the upload is the stored file itself)",
                code="rendition_not_found",
            )
        sha, filename, media_type, size, school_id = r.sha256, r.filename, r.media_type, r.size, doc.school_id
    return open_verified_content(archive, sha, filename, media_type, size, doc_id, school_id, actor)
