"""Full-text search over what records say: the text of PDFs, of the PDF/A made from Office files, and of OCR'd scans.

One row per document holds its text (from the newest version that had any) and the same text folded (lower case,
no diacritics, đ → d: content_checks.fold), so "rut kinh nghiem", "Rút Kinh Nghiệm" and a plan typed in TCVN3 all
meet. The folding is done here in Python, identically for both databases; each then searches the folded column with
its own full-text engine:

- SQLite: an FTS5 index (``document_text_fts``, tokenizer unicode61 with remove_diacritics, external content over
  ``document_texts``), created by migration 0011 and written here beside each row.
- PostgreSQL: ``to_tsvector('simple', folded) @@ plainto_tsquery('simple', …)`` with a GIN index on that expression.
  The folding already does what ``unaccent`` would, without needing the extension (superuser) on the server.

The matching passage is cut from the original text, around the first line whose folded form holds the words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ForeignKey, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import content_checks, encodings
from .db import utcnow
from .models import Base, Document, Organisation

MAX_CHARS = 1_000_000  # text kept per document: a long report's first few hundred pages
PASSAGE = 240
_TERM = re.compile(r"\w+")


class DocumentText(Base):
    __tablename__ = "document_texts"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), unique=True)
    version_number: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(20))  # pdf / office / ocr
    text: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow)


def read(path: Path, media_type: str, paragraphs: Iterable[str] | None = None) -> tuple[str, bool]:
    """The text of a stored file (bounded, legacy encodings read in Unicode; "" when there is none to read), and
    whether the reader got through the file: a PDF whose text reads empty but whole is a scan (OCR
    reads it), one the reader gave up on is not (OCR must not run on a file pdftotext could not read).
    `paragraphs`: the file's text when it has been read already (content_checks.pdf_text)."""
    reader = content_checks.EXTRACTORS.get(media_type)
    if reader is None:
        return "", True
    parts: list[str] = []
    size = 0
    whole = True
    try:
        for paragraph in reader(path) if paragraphs is None else paragraphs:
            line, _ = encodings.to_unicode(paragraph)
            parts.append(line)
            size += len(line) + 1
            if size > MAX_CHARS:
                break
    except content_checks.Unreadable:
        whole = False  # what was read before the limit or the damage still counts
    return "\n".join(parts)[:MAX_CHARS].strip(), whole


def index(
    session: Session, document: Document, version_number: int, body: str, source: str, *, new: bool = False
) -> None:
    """Store (or replace) the document's text inside the caller's transaction. `new`: the document was created in
    this transaction, so it has no text row yet."""
    if not body.strip():
        return
    folded = "\n".join(content_checks.fold(line) for line in body.splitlines())
    sqlite = session.get_bind().dialect.name == "sqlite"
    row = None if new else session.scalar(select(DocumentText).where(DocumentText.document_id == document.id))
    if row is None:
        row = DocumentText(document_id=document.id, version_number=version_number, source=source, text=body)
        row.folded = folded
        session.add(row)
    else:
        if sqlite:
            _fts_delete(session, row)  # an external-content FTS5 index is told what it held
        row.version_number, row.source, row.text, row.folded = version_number, source, body, folded
        row.indexed_at = utcnow()
    session.flush()
    if sqlite:
        session.execute(
            text("INSERT INTO document_text_fts(rowid, folded) VALUES (:id, :folded)"),
            {"id": row.id, "folded": row.folded},
        )


def _fts_delete(session: Session, row: DocumentText) -> None:
    session.execute(
        text(
            "INSERT INTO document_text_fts(document_text_fts, rowid, folded) VALUES ('delete', :id, :folded)"
        ),
        {"id": row.id, "folded": row.folded},
    )


@dataclass(frozen=True)
class Hit:
    document: Document
    school: str
    passage: str  # the original text around the match
    terms: tuple[str, ...]  # the folded words searched, for highlighting


def terms_of(query: str) -> list[str]:
    return _TERM.findall(content_checks.fold(query))[:10]


def search(
    session: Session, query: str, *, school_ids: list[int] | None, limit: int = 50, offset: int = 0
) -> tuple[list[Hit], int]:
    """Documents (of the given schools; None = all) whose text holds every word of ``query``."""
    words = terms_of(query)
    if not words:
        return [], 0
    dialect = session.get_bind().dialect.name
    stmt = select(DocumentText, Document).join(Document, Document.id == DocumentText.document_id)
    stmt = stmt.where(Document.status != "disposed")
    if school_ids is not None:
        stmt = stmt.where(Document.school_id.in_(school_ids))
    if dialect == "sqlite":
        match = " AND ".join(
            f'"{w}"' for w in words
        )  # each word a quoted FTS5 string: no query syntax reaches it
        ids = (
            select(text("rowid"))
            .select_from(text("document_text_fts"))
            .where(text("document_text_fts MATCH :m"))
        )
        stmt = stmt.where(DocumentText.id.in_(ids)).params(m=match)
    elif dialect == "postgresql":
        stmt = stmt.where(
            func.to_tsvector(text("'simple'"), DocumentText.folded).op("@@")(
                func.plainto_tsquery(text("'simple'"), " ".join(words))
            )
        )
    else:
        for w in words:
            stmt = stmt.where(DocumentText.folded.contains(w))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Document.created_at.desc(), Document.id).limit(limit).offset(offset))
    hits = []
    for doc_text, doc in rows:
        school = session.get(Organisation, doc.school_id)
        hits.append(Hit(doc, school.name if school else "", passage(doc_text.text, words), tuple(words)))
    return hits, total


def passage(body: str, words: Iterable[str]) -> str:
    """The first line holding the most of ``words`` (folded), cut to about PASSAGE characters around the first."""
    words = list(words)
    best, best_count = "", 0
    for line in body.splitlines():
        tokens = set(_TERM.findall(content_checks.fold(line)))
        count = sum(w in tokens for w in words)
        if count > best_count:
            best, best_count = line.strip(), count
            if count == len(words):
                break
    if len(best) <= PASSAGE:
        return best
    folded_words = [set(_TERM.findall(content_checks.fold(w))) for w in best.split()]
    first = next((i for i, fw in enumerate(folded_words) if fw & set(words)), 0)
    out = best.split()
    start = max(0, first - 12)
    cut = " ".join(out[start:])[:PASSAGE]
    return ("… " if start else "") + cut + " …"


def highlight(passage_text: str, words: Iterable[str]) -> list[tuple[str, bool]]:
    """The passage as (piece, is_match) pieces: a piece matches when one of its folded words is a searched word
    (whole words, as the full-text engines match them)."""
    words = list(words)
    pieces: list[tuple[str, bool]] = []
    for token in re.split(r"(\s+)", passage_text):
        pieces.append((token, bool(set(_TERM.findall(content_checks.fold(token))) & set(words))))
    return pieces
