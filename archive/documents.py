"""Finding documents and handing their bytes back (verified) as attachments."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from storage import NoGoodCopy, ReplicaResult, content_key
from storage.folder import FolderStore

from .access_events import record_access
from .context import Archive
from .db import utcnow
from .download_names import ascii_name, download_name
from .errors import Gone, NotFound, StorageDown
from .events import record_event
from .finding import DocumentFilter, find_documents
from .models import Document, Event, ReplicaCopy, StoredObject, User, Version
from .settings import Settings


def get_document(session: Session, doc_id: str) -> Document:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise NotFound(f"Không tìm thấy hồ sơ {doc_id}", f"No document {doc_id}", code="document_not_found")
    return doc


def get_document_to_serve(session: Session, doc_id: str) -> Document:
    """get_document with what serving its bytes reads next (its school for the permission check and the download's
    name, its versions) in the same statement: one round trip per download instead of three."""
    doc = session.get(Document, doc_id, options=[joinedload(Document.school), joinedload(Document.versions)])
    if doc is None:
        raise NotFound(f"Không tìm thấy hồ sơ {doc_id}", f"No document {doc_id}", code="document_not_found")
    return doc


def list_documents(
    session: Session,
    *,
    school: str | None = None,
    type_code: str | None = None,
    year: str | None = None,
    q: str | None = None,
    school_ids: list[int] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Document], int]:
    """The default list (withdrawn records left out), newest first; archive/finding.py has every filter and order."""
    f = DocumentFilter(school=school, type_code=type_code, year=year, q=q)
    return find_documents(session, f, school_ids=school_ids, limit=limit, offset=offset)


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus the UTF-8 name in filename*."""
    fallback = ascii_name(filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True)
class Content:
    filename: str  # as uploaded (kept in the catalog)
    download_name: str  # <school>_<year>_<type>_<class>_<title>.ext, what the person's browser saves
    media_type: str
    size: int
    sha256: str
    chunks: Iterator[bytes]
    served_from: str
    # the verified copy's file when it lies in a folder replica: what a reverse proxy may send instead (accel_redirect)
    path: Path | None = None


def ensure_not_disposed(session: Session, doc: Document) -> None:
    """A disposed document's bytes are gone by decision (biên bản tiêu hủy), not damaged: answer 410 with its
    tombstone instead of searching the replicas and reporting every missing copy as damage."""
    if doc.status != "disposed":
        return
    raise Gone(
        "Hồ sơ đã được tiêu hủy theo biên bản tiêu hủy; tệp không còn được lưu",
        "The document was disposed of under a disposal record; its file is no longer kept",
        extra={"tombstone": tombstone(session, doc)},
    )


def tombstone(session: Session, doc: Document) -> dict[str, Any]:
    """What the catalog still says of a disposed document, with when and under which disposal it went."""
    ev = session.scalar(
        select(Event)
        .where(Event.document_id == doc.id, Event.action == "document.dispose")
        .order_by(Event.id.desc())
        .limit(1)
    )
    detail = ev.detail if ev is not None and isinstance(ev.detail, dict) else {}
    return {
        "document_id": doc.id,
        "title": doc.title,
        "school": doc.school.code,
        "type": doc.type_code,
        "school_year": doc.school_year,
        "status": doc.status,
        "disposed_at": ev.occurred_at.isoformat() if ev is not None else None,
        "disposal_batch": detail.get("batch"),
        "disposal_record": detail.get("record"),
    }


@dataclass(frozen=True)
class ContentSource:
    """What serving one version's bytes needs from the catalog, read while the caller's session is open (the
    download route checks permissions in the same session: one catalog visit per download)."""

    doc_id: str
    school_id: int | None
    sha256: str
    filename: str
    media_type: str
    size: int
    saved_as: str


def stored_version(session: Session, doc_id: str, version: int | None) -> tuple[Document, Version]:
    """The document and its version `version` (None: the current one) whose bytes may still be read."""
    doc = get_document(session, doc_id)
    ensure_not_disposed(session, doc)
    v = doc.current if version is None else next((x for x in doc.versions if x.number == version), None)
    if v is None:
        raise NotFound(f"Không có phiên bản {version}", f"No version {version}", code="version_not_found")
    return doc, v


def content_source(session: Session, doc_id: str, version: int | None = None) -> ContentSource:
    """`stored_version` as what a download needs (a document the caller loaded already costs no statement)."""
    doc, v = stored_version(session, doc_id, version)
    saved_as = download_name(
        school=doc.school.code,
        year=doc.school_year,
        type_code=doc.type_code,
        class_name=doc.class_name,
        title=doc.title,
        original=v.original_filename,
    )
    return ContentSource(doc.id, doc.school_id, v.sha256, v.original_filename, v.media_type, v.size, saved_as)


def open_content(
    archive: Archive,
    doc_id: str,
    *,
    version: int | None = None,
    actor: User | None = None,
    record_download: bool = True,
    source: ContentSource | None = None,
) -> Content:
    """Open the version's bytes from the first replica whose copy hashes to the catalog digest.

    Bad copies are marked in the catalog and recorded as events; they are never served. A caller reading the bytes
    for its own work (validating signatures, which records document.validate) passes record_download=False: the trail
    must not say a person downloaded a file they only had checked. A caller that has read `source` already (in the
    session where it checked permissions) passes it instead of having the document looked up again."""
    if source is None:
        with archive.sessions() as session:
            source = content_source(session, doc_id, version)
    return open_verified_content(
        archive, source.sha256, source.filename, source.media_type, source.size, source.doc_id, source.school_id,
        actor, saved_as=source.saved_as, record_download=record_download,
    )  # fmt: skip


def open_verified_content(
    archive: Archive,
    sha: str,
    filename: str,
    media_type: str,
    size: int,
    doc_id: str,
    school_id: int | None,
    actor: User | None,
    *,
    saved_as: str | None = None,
    record_download: bool = True,
) -> Content:
    """Open stored bytes from the first replica whose copy hashes to ``sha``, recording bad copies and the download
    (a version's file, or a rendition of it such as the original Office upload)."""
    saved_as = saved_as or filename
    bad: list[ReplicaResult] = []
    try:
        store, chunks = archive.replicas.open_verified(content_key(sha), sha, on_bad=bad.append)
    except NoGoodCopy as exc:
        bad = exc.results
        _record_bad_copies(archive, content_key(sha), bad, doc_id, school_id)
        raise StorageDown(
            "Không có bản sao nào còn nguyên vẹn để trả về; đã ghi nhận sự cố",
            "No intact copy is available right now; the incident has been recorded",
            code="no_intact_copy",
        ) from None
    _record_bad_copies(archive, content_key(sha), bad, doc_id, school_id)
    path = store.root.joinpath(*content_key(sha).split("/")) if isinstance(store, FolderStore) else None
    if not record_download:
        return Content(filename, saved_as, media_type, size, sha, chunks, store.url, path)
    # committed before a byte is served; AccessNotRecorded (503) otherwise
    record_access(
        archive.engine,
        "document.download",
        actor=actor,  # only its id and name are written: no need to load it into this session
        document_id=doc_id,
        organisation_id=school_id,
        detail={"sha256": sha, "store": store.url},
    )
    return Content(filename, saved_as, media_type, size, sha, chunks, store.url, path)


def accel_redirect(settings: Settings, content: Content) -> str | None:
    """The reverse proxy's internal URI of the copy to send instead of hoso (X-Accel-Redirect), or None: hoso
    sends the bytes (the setting is off, or the verified copy is not in a folder replica).

    Why a damaged copy is not handed over: `content` comes from open_verified_content, which chose this copy only
    after hashing all of it against the catalog's digest (a copy that hashed wrong was skipped and recorded as
    damaged), and the event of the download has committed. The proxy then opens the same path a few milliseconds
    later. A folder replica never rewrites a content file in place: it is written once (temp file, fsync, link) and
    a repair replaces it by rename with a copy verified as it was written, so the path names either the bytes just
    verified or verified replacement bytes. What remains is a write into the file by something other than hoso within
    those milliseconds (the disk's own faults are read back from the page cache hoso just hashed); the client can
    still check the X-Content-SHA256 header. Copies larger than storage.replicas.WHOLE_READ are hashed in full before
    too (hoso's own streaming hashes them a second time while sending; the proxy does not)."""
    prefix = settings.download_accel_prefix
    if not prefix or content.path is None:
        return None
    close = getattr(content.chunks, "close", None)
    if close is not None:
        close()  # a large copy's stream was not started: nothing to read
    return prefix + quote(str(content.path))


def _record_bad_copies(
    archive: Archive, key: str, bad: list[ReplicaResult], doc_id: str, school_id: int | None
) -> None:
    if not bad:
        return
    with archive.sessions() as session, session.begin():
        obj = session.scalar(select(StoredObject).where(StoredObject.key == key))
        for r in bad:
            if obj is not None:
                copy = session.scalar(
                    select(ReplicaCopy).where(
                        ReplicaCopy.object_id == obj.id, ReplicaCopy.store_url == r.store
                    )
                )
                if copy is not None:
                    copy.state = r.state
                    copy.detail = r.detail[:1000]
                    copy.checked_at = utcnow()
            record_event(
                session,
                "replica.damage",
                document_id=doc_id,
                organisation_id=school_id,
                outcome="error",
                detail={
                    "key": key,
                    "store": r.store,
                    "state": r.state,
                    "found": r.found_sha256,
                    "detail": r.detail,
                },
            )
