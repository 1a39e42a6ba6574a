"""Ingest: a file becomes verified copies in every replica, an immutable manifest, then a catalog row.

Order matters for crash safety: content copies → (transaction: rows flushed → manifest copies → commit).
A crash anywhere before the commit leaves at worst orphan copies, never a row pointing at missing content.
"""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import NotEnoughReplicas, ReplicaResult, content_key

from . import chains, content_checks, conversion, fulltext, ocr, pdfa_normalise, pdfcheck, renditions, sniff
from .context import Archive
from .db import utcnow
from .errors import Conflict, IngestRefused, InvalidInput, NotFound, StorageDown
from .events import record_event
from .locks import ensure_unlocked
from .manifests import build_manifest, manifest_key, serialise
from .models import Document, DocumentType, Organisation, StoredObject, User, Version
from .pdfcheck import PdfFacts, inspect_pdf
from .school_year import check_school_year
from .stored_objects import track_object

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class IngestResult:
    document: Document
    version: Version
    created: bool
    replicas: list[ReplicaResult]


def clean_filename(name: str | None, media_type: str | None = None) -> str:
    """Keep the Vietnamese name (NFC), drop any path and control characters.

    With `media_type` (sniffed from the bytes), the name ends with that type's extension, because the download is
    opened by whatever the name says: "x.pdf.exe" becomes "x.pdf", "bao-cao.exe" "bao-cao.exe.pdf", "so-diem" gets
    ".pdf". Within 255 characters, the extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")
    name = name or "tai-lieu"
    ext = sniff.EXTENSIONS.get(media_type or "")
    if ext is None:
        return name[:255]
    stem, last = os.path.splitext(name)
    if last.lower() == ext:
        stem, ext = stem.rstrip(" ."), last  # the sender's spelling (".PDF") kept
    elif last and stem.lower().endswith(ext):
        stem = stem[: -len(ext)].rstrip(" .")  # "x.pdf.exe": the real extension is under the fake one
    else:
        stem = name
    return (stem or "tai-lieu")[: 255 - len(ext)] + ext


def check_lengths(**values: str | None) -> None:
    """Refuse descriptive fields longer than their catalog columns (SQLite would store them whole, PostgreSQL fail)."""
    too_long = []
    for name, value in values.items():
        width = getattr(Document.__table__.c[name].type, "length", None)
        if value is not None and width is not None and len(value.strip()) > width:
            too_long.append((name, width))
    if too_long:
        raise InvalidInput(
            "Quá dài: " + ", ".join(f"{n} (tối đa {w} ký tự)" for n, w in too_long),
            "Too long: " + ", ".join(f"{n} (at most {w} characters)" for n, w in too_long),
            code="too_long",
        )


def spool(archive: Archive, stream: BinaryIO) -> tuple[Path, str, int]:
    """Copy an upload to a private temp file while hashing it, refusing it as soon as it passes the size limit."""
    limit = archive.settings.max_upload_bytes
    fd, name = tempfile.mkstemp(prefix="upload-", dir=archive.spool_dir)
    path = Path(name)
    h = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                h.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, h.hexdigest(), size


def too_large(limit: int) -> IngestRefused:
    mb = limit / (1024 * 1024)
    return IngestRefused(
        f"Tệp vượt quá dung lượng cho phép ({mb:.0f} MB)",
        f"The file is larger than the limit ({mb:.0f} MB)",
        code="too_large",
        status=413,
    )


def hash_file(path: Path) -> tuple[str, int]:
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    return digest.hexdigest(), path.stat().st_size


def ingest_stream(archive: Archive, stream: BinaryIO, **kw: object) -> IngestResult:
    path, sha, size = spool(archive, stream)
    try:
        return ingest_file(archive, path, sha256=sha, size=size, **kw)
    finally:
        path.unlink(missing_ok=True)


def ingest_file(archive: Archive, path: Path, **kw: Any) -> IngestResult:
    """Store an uploaded file as a new record (or find the record that already holds it): prepare_file, then the
    record's catalog rows in a transaction of its own. See prepare_file for the arguments."""
    out = prepare_file(archive, path, **kw)
    return out if isinstance(out, IngestResult) else record(archive, out)


def prepare_file(
    archive: Archive,
    path: Path,
    *,
    filename: str,
    school: str,
    type_code: str,
    year: str,
    title: str | None = None,
    class_name: str | None = None,
    subject: str | None = None,
    teacher: str | None = None,
    actor: User | None = None,
    sha256: str | None = None,
    size: int | None = None,
    as_received: bool = False,
) -> IngestResult | Prepared:
    """Everything of storing an uploaded file but its catalog rows: the record that already holds the same bytes, or
    the new record checked, read and copied to every replica (`record` writes its rows, in the caller's transaction
    or its own). Refusals are raised here, before any copy is written.

    `as_received`: a PDF is stored byte for byte, never normalised to PDF/A — for the archive's own records (a
    disposal report with its listing attached) and records transferred from another instance, whose checksums travel
    with them."""
    if sha256 is None or size is None:
        sha256, size = hash_file(path)
    if size > archive.settings.max_upload_bytes:
        raise too_large(archive.settings.max_upload_bytes)
    if size == 0:
        raise IngestRefused("Tệp rỗng", "The file is empty", code="empty_file")
    filename = clean_filename(filename)
    year = check_school_year(year)
    check_lengths(title=title, class_name=class_name, subject=subject, teacher=teacher)
    with archive.sessions() as session:
        # one look-up of school and type, then every answer the catalog can give before the costly checks: the same
        # bytes already stored (they passed those checks then), or a locked record (refused before any copy)
        org, dtype = resolve_school_and_type(session, school, type_code)
        existing = session.scalar(
            select(Document)
            .join(Version)
            .where(Document.school_id == org.id, Document.type_code == dtype.code, Version.sha256 == sha256)
            # a disposed record is a tombstone, a withdrawn one was a mistake: the same bytes uploaded again are a new
            # record, stored anew
            .where(Document.status.not_in(("disposed", "withdrawn")))
        )
        if existing is None:  # an Office upload is kept as the original rendition of its PDF/A version
            existing = renditions.document_with_original(session, org.id, dtype.code, sha256)
        if existing is not None:
            version = next((v for v in existing.versions if v.sha256 == sha256), existing.versions[0])
            return IngestResult(existing, version, False, _replica_states(session, content_key(sha256)))
        ensure_unlocked(session, org.id, dtype.code, year)
    media_type = sniff.sniff(path, filename)
    if media_type is None:
        raise IngestRefused(
            "Loại tệp không được hỗ trợ (chấp nhận PDF, Word, Excel, OpenDocument, XML)",
            "Unsupported file type (PDF, Word, Excel, OpenDocument and XML are accepted)",
            code="unsupported_type",
            status=415,
        )
    filename = clean_filename(filename, media_type)  # the stored name ends with the sniffed type's extension
    meta: dict[str, Any] = {"school": school, "type_code": type_code, "year": year, "title": title}
    meta["resolved"] = (org, dtype)
    meta |= {"class_name": class_name, "subject": subject, "teacher": teacher, "actor": actor}
    if media_type == sniff.PDF and archive.settings.pdfa_normalise and not as_received:
        return _store_pdf(archive, path, sha256, size, filename, meta)
    if media_type not in conversion.CONVERTIBLE:
        return _store_new(archive, path, sha256, size, media_type, filename, None, **meta)
    try:
        office = conversion.convert_upload(
            path,
            media_type,
            filename,
            sha256,
            size,
            profiles=archive.settings.data_dir / "office-profiles",
            workdir=archive.spool_dir,
        )
    except conversion.NotConverted as exc:  # kept as uploaded (not signable); the record's page says so
        return _store_new(
            archive, path, sha256, size, media_type, filename, None, not_converted=exc.en, **meta
        )
    try:
        return _store_new(
            archive,
            office.pdfa_path,
            office.pdfa_sha256,
            office.pdfa_size,
            sniff.PDF,
            office.pdfa_filename,
            office,
            **meta,
        )
    finally:
        office.pdfa_path.unlink(missing_ok=True)


def normalised_pdf(
    archive: Archive, path: Path, filename: str, sha256: str, size: int, facts: PdfFacts | None = None
) -> conversion.Converted | None:
    """The PDF/A-2b of an unsigned PDF that does not claim PDF/A (its ``pdfa_path`` for the caller to remove), or None
    when the file is kept as it is: normalisation off, a signed PDF, a PDF/A already, or Ghostscript failed."""
    if not archive.settings.pdfa_normalise:
        return None
    facts = facts or inspect_pdf(path)
    if not pdfa_normalise.needs_normalising(facts.signed, facts.pdfa_claim):
        return None
    try:
        return pdfa_normalise.normalise_upload(path, filename, sha256, size, workdir=archive.spool_dir)
    except conversion.NotConverted:
        return None  # kept as uploaded: still a PDF, still signable


def _store_pdf(
    archive: Archive, path: Path, sha256: str, size: int, filename: str, meta: dict[str, Any]
) -> Prepared:
    """An unsigned PDF that does not claim PDF/A is stored as its PDF/A-2b, the upload kept as the original; a hostile
    file is refused by the inspection before Ghostscript ever reads it."""
    with pdfcheck.inspection(path) as job:
        facts = job.facts()
        if not pdfa_normalise.needs_normalising(facts.signed, facts.pdfa_claim):
            return _store_new(archive, path, sha256, size, sniff.PDF, filename, None, job=job, **meta)
    try:
        normalised = pdfa_normalise.normalise_upload(path, filename, sha256, size, workdir=archive.spool_dir)
    except conversion.NotConverted as exc:  # kept as uploaded: still a PDF, still signable
        return _store_new(
            archive, path, sha256, size, sniff.PDF, filename, None, not_converted=exc.en, facts=facts, **meta
        )
    try:
        return _store_new(
            archive,
            normalised.pdfa_path,
            normalised.pdfa_sha256,
            normalised.pdfa_size,
            sniff.PDF,
            normalised.pdfa_filename,
            normalised,
            **meta,
        )
    finally:
        normalised.pdfa_path.unlink(missing_ok=True)


def add_original(
    session: Session, version: Version, kept: conversion.Converted, results: Sequence[ReplicaResult]
) -> None:
    """Record the upload a version was converted from (its copies already written) as the version's original."""
    track_object(session, content_key(kept.sha256), kept.sha256, kept.size, "content", results)
    session.add(
        renditions.Rendition(
            version_id=version.id,
            kind=renditions.ORIGINAL,
            sha256=kept.sha256,
            size=kept.size,
            media_type=kept.media_type,
            filename=kept.filename,
            detail=kept.detail,
            created_at=utcnow(),
        )
    )


def _store_new(
    archive: Archive,
    path: Path,
    sha256: str,
    size: int,
    media_type: str,
    filename: str,
    office: conversion.Converted | None,
    *,
    not_converted: str | None = None,
    facts: PdfFacts | None = None,
    job: pdfcheck.Inspection | None = None,
    resolved: tuple[Organisation, DocumentType] | None = None,
    school: str,
    type_code: str,
    year: str,
    title: str | None,
    class_name: str | None,
    subject: str | None,
    teacher: str | None,
    actor: User | None,
) -> Prepared:
    """Inspect, copy and read a new record's file (with the Office original beside a converted PDF/A). `job`: the
    caller's inspection of this very file, still open; `facts`: what an inspection already said about it;
    `resolved`: the school and type the caller looked up."""
    if media_type == sniff.PDF and job is None and facts is None:
        # the worker reads the text while it inspects the file: pdftotext has limits of its own
        with pdfcheck.inspection(path, content_checks.text_request(path, _text_bound(type_code))) as own:
            read = _read_and_copy(archive, path, sha256, media_type, type_code, office, own, None)
    else:
        read = _read_and_copy(archive, path, sha256, media_type, type_code, office, job, facts)
    meta: dict[str, Any] = {
        "school": school,
        "type_code": type_code,
        "year": year,
        "title": title,
        "class_name": class_name,
    }
    meta |= {"subject": subject, "teacher": teacher, "actor": actor}
    return Prepared(sha256, size, media_type, filename, office, not_converted, resolved, meta, read)


@dataclass(frozen=True)
class Prepared:
    """A new record whose file is checked, read and in every replica: what remains is its catalog rows (`record`)."""

    sha256: str
    size: int
    media_type: str
    filename: str
    office: conversion.Converted | None
    not_converted: str | None
    resolved: tuple[Organisation, DocumentType] | None
    meta: dict[str, Any]  # school, type_code, year, title, class_name, subject, teacher, actor
    read: _Read


def record(archive: Archive, prepared: Prepared, session: Session | None = None) -> IngestResult:
    """The catalog rows and the manifest of a prepared record: in a transaction of its own, or (`session`) in a
    savepoint of the caller's transaction, so that a batch commits several records at once and a record refused
    here (a lock taken meanwhile, a replica down for the manifest) leaves its neighbours as they are."""
    if session is None:
        with archive.sessions() as own, own.begin():
            return _record(archive, own, prepared, **prepared.meta)
    with session.begin_nested():
        return _record(archive, session, prepared, **prepared.meta)


def _record(
    archive: Archive,
    session: Session,
    p: Prepared,
    *,
    school: str,
    type_code: str,
    year: str,
    title: str | None,
    class_name: str | None,
    subject: str | None,
    teacher: str | None,
    actor: User | None,
) -> IngestResult:
    read, office, filename = p.read, p.office, p.filename
    if p.resolved is None:
        org, dtype = resolve_school_and_type(session, school, type_code)
    else:  # looked up a moment ago: taken into this session as they are, without a SELECT
        org, dtype = session.merge(p.resolved[0], load=False), session.merge(p.resolved[1], load=False)
    doc = Document(
        school=org,
        doc_type=dtype,
        school_year=year,
        title=(title or "").strip() or Path(filename).stem,
        class_name=class_name,
        subject=subject,
        teacher=teacher,
        created_at=utcnow(),
        created_by=session.merge(actor) if actor else None,
        versions=[],  # a new record has none: add_version needs no SELECT to learn it
    )
    session.add(doc)
    version = add_version(
        archive,
        session,
        doc,
        sha256=p.sha256,
        size=p.size,
        media_type=p.media_type,
        filename=filename,
        page_count=read.page_count,
        signed=read.signed,
        validation=read.validation,
        reason="Tiếp nhận tệp / ingest",
        actor=actor,
        content_results=read.results,
        event="document.ingest",
        event_detail=(
            {"converted_from": office.media_type, "original_sha256": office.sha256}
            if office
            else ({"not_converted": p.not_converted[:300]} if p.not_converted else None)
        ),
    )
    if office is not None:
        add_original(session, version, office, read.original_results)
    fulltext.index(session, doc, version.number, read.body, read.source, new=True)
    scan = read.scan
    if scan is not None:
        track_object(session, content_key(scan.sha256), scan.sha256, scan.size, "content", scan.results)
        session.add(
            renditions.Rendition(
                version_id=version.id,
                kind=renditions.OCR_TEXT,
                sha256=scan.sha256,
                size=scan.size,
                media_type="text/plain; charset=utf-8",
                filename=Path(filename).stem + ".txt",
                detail=f"OCR {ocr.LANGUAGES}, {ocr.MAX_PAGES} trang đầu / first pages",
                created_at=utcnow(),
            )
        )
    content_checks.record(session, version, read.findings)
    return IngestResult(doc, version, True, read.results)


@dataclass(frozen=True)
class _Read:
    """What a new record's file says and where its copies are, all settled before the catalog transaction."""

    page_count: int | None
    signed: bool
    validation: dict[str, object] | None
    results: list[ReplicaResult]
    original_results: list[ReplicaResult]
    findings: list[content_checks.Finding]
    body: str
    source: str
    scan: _ScanText | None


def _read_and_copy(
    archive: Archive,
    path: Path,
    sha256: str,
    media_type: str,
    type_code: str,
    office: conversion.Converted | None,
    job: pdfcheck.Inspection | None,
    facts: PdfFacts | None,
) -> _Read:
    """Inspection, copies, text. A PDF's text is read by the worker that inspected it while the copies are written
    (the two costs overlap); the text is read here, not inside the catalog transaction: pdftotext may take seconds
    and the transaction holds the audit chain's lock. Only the finding is stored with the version (a finding, never a
    refusal)."""
    page_count = None
    signed = False
    if job is not None:
        facts = job.facts()
    if facts is not None:
        page_count, signed = facts.page_count, facts.signed
    if job is not None:
        content_checks.start_pdf_text(job, _text_bound(type_code))

    validation = None
    if signed and archive.signing is not None:
        validation = archive.signing.validate(path.read_bytes())

    results = write_copies(archive, content_key(sha256), path, sha256)
    original_results = (
        write_copies(archive, content_key(office.sha256), office.path, office.sha256) if office else []
    )
    if job is not None:
        again = _replayable(content_checks.pdf_text(job))
        findings = content_checks.inspect(path, media_type, type_code, again())
        body, whole = fulltext.read(path, media_type, again())
    else:
        findings = content_checks.inspect(path, media_type, type_code)
        body, whole = fulltext.read(path, media_type)
    # a scan normalised to PDF/A is still a scan: OCR reads it as it would the upload
    from_pdf = office is None or office.media_type == sniff.PDF
    source = "file" if from_pdf else "office"
    # one pdftotext pass serves the index and the scan test: a PDF that reads empty but whole has no text layer
    scan = _read_scan(archive, path) if media_type == sniff.PDF and from_pdf and whole and not body else None
    if scan is not None:
        findings = content_checks.inspect_text(
            scan.text, type_code, "đọc bằng OCR (tesseract, tiếng Việt) / OCR"
        )
        body, source = scan.text, "ocr"
    return _Read(page_count, signed, validation, results, original_results, findings, body, source, scan)


def _text_bound(type_code: str) -> int:
    """Characters of a PDF's text worth reading: room above what its readers keep (they stop at their own limits)."""
    return 2 * (
        content_checks.MAX_TEXT_CHARS if type_code == content_checks.LESSON_PLAN else fulltext.MAX_CHARS
    )


def _replayable(lines: Iterator[str]) -> Callable[[], Iterator[str]]:
    """The lines read once, given again to each reader (the content checks, the index), the failure at their end."""
    kept: list[str] = []
    failure: content_checks.Unreadable | None = None
    try:
        kept.extend(lines)
    except content_checks.Unreadable as exc:
        failure = exc

    def again() -> Iterator[str]:
        yield from kept
        if failure is not None:
            raise failure

    return again


@dataclass(frozen=True)
class _ScanText:
    text: str
    sha256: str
    size: int
    results: list[ReplicaResult]


def _read_scan(archive: Archive, path: Path) -> _ScanText | None:
    """OCR of an image-only PDF, its text stored in the replicas (before the catalog rows, like any content)."""
    text = ocr.read_scan(path, workdir=archive.spool_dir)
    if text is None:
        return None
    data = text.encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    fd, name = tempfile.mkstemp(prefix="ocr-", suffix=".txt", dir=archive.spool_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        results = write_copies(archive, content_key(sha), Path(name), sha)
    finally:
        Path(name).unlink(missing_ok=True)
    return _ScanText(text, sha, len(data), results)


def examine(
    archive: Archive, path: Path, filename: str
) -> tuple[str, str, int | None, bool, dict[str, object] | None]:
    """The checks every file a person sends passes before any copy is written (a new record or a replacement): its
    type sniffed from the bytes, a PDF inspected with limits, an already signed PDF validated. Returns the media type,
    the stored name (with the sniffed type's extension), page count, signed, validation report."""
    media_type = sniff.sniff(path, filename)
    if media_type is None:
        raise IngestRefused(
            "Loại tệp không được hỗ trợ (chấp nhận PDF, Word, Excel, OpenDocument, XML)",
            "Unsupported file type (PDF, Word, Excel, OpenDocument and XML are accepted)",
            code="unsupported_type",
            status=415,
        )
    stored_name = clean_filename(filename, media_type)
    page_count = None
    signed = False
    if media_type == sniff.PDF:
        facts = inspect_pdf(path)
        page_count, signed = facts.page_count, facts.signed
    validation = None
    if signed and archive.signing is not None:
        validation = archive.signing.validate(path.read_bytes())
    return media_type, stored_name, page_count, signed, validation


def resolve_school_and_type(
    session: Session, school: str, type_code: str
) -> tuple[Organisation, DocumentType]:
    """The school and the document type of an upload, or a bilingual 404/422 (the API and the upload page check
    the uploader's right against these before reading the file)."""
    org = session.scalar(select(Organisation).where(Organisation.code == school))
    if org is None:
        raise NotFound(
            f"Không tìm thấy trường {school}", f"No school with code {school}", code="school_not_found"
        )
    if org.kind != "truong":
        raise InvalidInput(f"{school} không phải là trường", f"{school} is not a school", code="not_a_school")
    dtype = session.get(DocumentType, type_code)
    if dtype is None:
        raise InvalidInput(
            f"Loại hồ sơ không hợp lệ: {type_code}",
            f"Unknown document type {type_code!r}",
            code="unknown_type",
        )
    return org, dtype


def write_copies(archive: Archive, key: str, path: Path, sha256: str) -> list[ReplicaResult]:
    try:
        return archive.replicas.put_file(key, path, sha256)
    except NotEnoughReplicas as exc:
        raise storage_down(exc) from None


def storage_down(exc: NotEnoughReplicas) -> StorageDown:
    bad = ", ".join(f"{r.store} ({r.state})" for r in exc.results if not r.ok)
    return StorageDown(
        f"Không lưu được đủ bản sao ({bad}); tệp chưa được lưu, vui lòng thử lại sau",
        f"Could not store enough verified copies ({bad}); nothing was recorded, please try again later",
    )


def add_version(
    archive: Archive,
    session: Session,
    doc: Document,
    *,
    sha256: str,
    size: int,
    media_type: str,
    filename: str,
    page_count: int | None,
    signed: bool,
    validation: dict[str, object] | None,
    reason: str,
    actor: User | None,
    content_results: Sequence[ReplicaResult],
    event: str,
    event_detail: dict[str, object] | None = None,
    correction_id: int | None = None,
    appends: bool = False,
) -> Version:
    """Add the next immutable version of `doc` inside the caller's transaction; the content must already be in the
    replicas. Writes the manifest to every replica before returning (the caller commits).

    Locked records (archive/locks.py) refuse new versions unless `correction_id` names an approved correction.
    `appends` says the caller verified that the new version is the previous one's bytes followed by an incremental
    update (a signature of the chain, a document timestamp): not a change of content, so a lock does not stop it."""
    if not appends:
        ensure_unlocked(
            session,
            doc.school_id if doc.school_id is not None else doc.school.id,
            doc.type_code or doc.doc_type.code,
            doc.school_year,
            correction_id=correction_id,
        )
    previous = doc.versions[-1] if doc.versions else None
    version = Version(
        document=doc,
        number=(previous.number + 1) if previous else 1,
        sha256=sha256,
        size=size,
        media_type=media_type,
        original_filename=filename,
        page_count=page_count,
        created_at=utcnow(),
        created_by=session.merge(actor) if actor else None,
        reason=reason,
        signed=signed,
        validation=validation,
        previous_manifest_sha256=previous.manifest_sha256 if previous else None,
        manifest_sha256="",
    )
    session.add(version)
    session.flush()
    manifest, manifest_sha = serialise(build_manifest(doc, version, version.previous_manifest_sha256))
    version.manifest_sha256 = manifest_sha
    mkey = manifest_key(doc.id, version.number)
    try:
        # A manifest already under this key can only be an orphan of a write that never committed (the catalog,
        # which is authoritative, has no version `number` yet and the document row is locked): replace it, or a crash
        # during one signing would block every later version of the document.
        manifest_results = archive.replicas.put_bytes(mkey, manifest, manifest_sha, replace_invalid=True)
    except NotEnoughReplicas as exc:
        raise storage_down(exc) from None
    track_object(session, content_key(sha256), sha256, size, "content", content_results)
    # the first manifest of a document created in this transaction: no row can hold its key
    track_object(
        session, mkey, manifest_sha, len(manifest), "manifest", manifest_results, new=previous is None
    )
    _fault_point(archive, "before-commit")
    record_event(
        session,
        event,
        actor=actor,
        document_id=doc.id,
        version_id=version.id,
        organisation_id=doc.school_id,
        detail={
            "version": version.number,
            "sha256": sha256,
            "size": size,
            "filename": filename,
            **(event_detail or {}),
        },
    )
    if not appends:
        # new content (a first upload, a replacement) opens the record's signing chain, or restarts it
        chains.open_chain(session, doc, actor=session.merge(actor) if actor else None)
    return version


def _replica_states(session: Session, key: str) -> list[ReplicaResult]:
    obj = session.scalar(select(StoredObject).where(StoredObject.key == key))
    if obj is None:
        return []
    return [ReplicaResult(c.store_url, c.state, c.detail) for c in obj.copies]


def _fault_point(archive: Archive, name: str) -> None:
    # test-only: lets the crash-safety test kill the process at a precise point of the write path
    if archive.settings.fault_inject == name:
        os.kill(os.getpid(), signal.SIGKILL)


def add_version_from_bytes(
    archive: Archive,
    doc_id: str,
    data: bytes,
    *,
    base_version: int,
    reason: str,
    actor: User | None,
    event: str,
    event_detail: dict[str, object] | None = None,
    validation: dict[str, object] | None = None,
    signed: bool | None = None,
    appends: bool = False,
    then: Callable[[Session, Document, Version], None] | None = None,
) -> Version:
    """Store `data` as the next version of a document that was derived from version `base_version` (a signature,
    a fresh timestamp …). Copies first, then the catalog; Conflict if another version landed in between.

    `appends`: `data` must begin with the base version's exact bytes (checked here); a lock then does not stop it.
    `then` runs inside the same transaction (the signing chain records its step with the version)."""
    sha256 = hashlib.sha256(data).hexdigest()
    with archive.sessions() as session:
        known = session.get(Document, doc_id)
        type_code = known.type_code if known is not None else ""
    fd, name = tempfile.mkstemp(prefix="version-", dir=archive.spool_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        media_type = sniff.sniff(path) or "application/octet-stream"
        page_count = inspect_pdf(path).page_count if media_type == sniff.PDF else None
        results = write_copies(archive, content_key(sha256), path, sha256)
        # every version carries its own findings (a signed lesson plan is checked again, outside the transaction)
        findings = content_checks.inspect(path, media_type, type_code)
    finally:
        path.unlink(missing_ok=True)
    with archive.sessions() as session, session.begin():
        doc = session.scalar(select(Document).where(Document.id == doc_id).with_for_update())
        if doc is None:
            raise NotFound(
                f"Không tìm thấy hồ sơ {doc_id}", f"No document {doc_id}", code="document_not_found"
            )
        current = doc.versions[-1]
        if current.number != base_version:
            raise Conflict(
                f"Hồ sơ đã có phiên bản mới ({current.number}) trong lúc xử lý phiên bản {base_version}; hãy thực hiện lại",
                f"The document moved on to version {current.number} while version {base_version} was being processed; retry",
                code="version_conflict",
            )
        if appends and (
            len(data) <= current.size or hashlib.sha256(data[: current.size]).hexdigest() != current.sha256
        ):
            raise Conflict(
                "Phiên bản mới không phải là phần nối thêm vào phiên bản trước; từ chối",
                "The new version does not append to the previous one; refused",
                code="not_an_append",
            )
        version = add_version(
            archive,
            session,
            doc,
            sha256=sha256,
            size=len(data),
            media_type=media_type,
            filename=current.original_filename,
            page_count=page_count,
            signed=current.signed if signed is None else signed,
            validation=validation,
            reason=reason,
            actor=actor,
            content_results=results,
            event=event,
            event_detail=event_detail,
            appends=appends,
        )
        content_checks.record(session, version, findings)
        if then is not None:
            then(session, doc, version)
        return version
