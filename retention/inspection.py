"""Inspection packages (Công văn 1370: files go to inspectors as attachments, never links).

An inspector picks schools, school years, record types, classes — or ticks documents — and gets one ZIP holding each
file under a readable, unique name `<school>_<year>_<type>_<class>_<title>.pdf`, a `SHA256SUMS` file, and the evidence
report `bao-cao-kiem-tra.pdf` (+ `.json`) signed with the system's seal, so the package proves itself offline.

Scope is the permission matrix's, unchanged: a package may hold only what the person may download
(`document.download`: a Phòng inspector its district's THCS schools, a Sở inspector the province's THPT and GDTX
schools, a school's staff their school). Asking for a school or a document outside it is refused and recorded.

`create_package` reads each file's copy once (its SHA-256 checked against the catalog, its CRC-32 taken for the ZIP
headers), renders and seals the report, stores the report's files in every replica, and records the listing; the ZIP
is then produced on demand, any byte range of it (retention/inspection_zip.py). Events: `inspection.package` (the
package), `inspection.include` (one per document, on that document's own trail), `inspection.download` (each download
or resumed range) and `inspection.email` (each e-mail part).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import corrections
from archive.context import Archive
from archive.db import utcnow
from archive.errors import InvalidInput, NotFound, PermissionDenied, StorageDown
from archive.events import record_event
from archive.ingest import track_object
from archive.models import Document, DocumentType, Organisation, ReplicaCopy, StoredObject, User
from archive.permissions import authorize, permitted, school_ids_for
from storage import NoGoodCopy, NotEnoughReplicas, content_key

from .inspection_models import InspectionPackage
from .inspection_report import render_report
from .inspection_zip import ZipEntry, ZipLayout

ACTION = "document.download"  # what a package hands over: the files themselves
MAX_DOCUMENTS = 5000
REPORT_PDF = "bao-cao-kiem-tra.pdf"
REPORT_JSON = "bao-cao-kiem-tra.json"
SUMS = "SHA256SUMS"
EXPORT_PREFIX = "exports/inspection/"
NAME_PART = 60  # characters kept of each part of a file name (titles can be 500)


@dataclass(frozen=True)
class Selection:
    """What was asked for; empty tuples mean "any". At least schools or documents must be named."""

    schools: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    @classmethod
    def of(cls, **values: Sequence[str] | None) -> Selection:
        clean = {
            k: tuple(dict.fromkeys(s.strip() for s in (v or ()) if s and s.strip()))
            for k, v in values.items()
        }
        return cls(**clean)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in ("schools", "years", "types", "classes", "documents")}


@dataclass(frozen=True)
class PackageSummary:
    id: str
    created_at: datetime
    actor: str
    documents: int
    zip_size: int
    report_sha256: str
    filename: str
    selection: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)


# --- names ------------------------------------------------------------------------------------------------------
def ascii_fold(text: str) -> str:
    """Vietnamese to plain ASCII for a file name every system accepts: diacritics dropped, đ → d, anything else that
    is not a letter, digit, dot or dash becomes a dash."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9.-]+", "-", text.encode("ascii", "ignore").decode())
    return re.sub(r"-{2,}", "-", text).strip("-.")


def entry_name(school: str, year: str, type_code: str, class_name: str | None, title: str, ext: str) -> str:
    parts = [school, year, type_code, class_name or "", title]
    folded = [ascii_fold(p)[:NAME_PART].strip("-.") for p in parts]
    return "_".join(p for p in folded if p) + f".{ascii_fold(ext) or 'pdf'}"


def unique_names(names: Sequence[str], ids: Sequence[str]) -> list[str]:
    """Two documents may fold to the same name (same class, same title): the later ones get their id's start."""
    seen: set[str] = set()
    out = []
    for name, doc_id in zip(names, ids, strict=True):
        if name in seen:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}_{doc_id[:8]}{dot}{ext}"
        seen.add(name)
        out.append(name)
    return out


def zip_filename(package_id: str) -> str:
    return f"goi-kiem-tra-{package_id[:8]}.zip"


# --- selecting --------------------------------------------------------------------------------------------------
def select_documents(session: Session, user: User, selection: Selection) -> list[Document]:
    """The active documents matching `selection` that `user` may download. A named school or ticked document outside
    the person's scope is refused (403, recorded), never silently dropped: the inspector must know."""
    if school_ids_for(session, user, ACTION) == []:
        authorize(session, user, ACTION, None)  # may take files from no school at all: refused, recorded
    if not selection.schools and not selection.documents:
        raise InvalidInput(
            "Hãy chọn ít nhất một trường hoặc đánh dấu hồ sơ cần lấy",
            "Choose at least one school or tick the documents you want",
            code="nothing_selected",
        )
    for code in selection.schools:
        org = session.scalar(select(Organisation).where(Organisation.code == code))
        if org is None or org.kind != "truong":
            raise NotFound(f"Không có trường {code}", f"No school {code}", code="school_not_found")
        authorize(session, user, ACTION, org)
    for code in selection.types:
        if session.get(DocumentType, code) is None:
            raise InvalidInput(f"Không có loại hồ sơ {code}", f"No document type {code}", code="unknown_type")
    stmt = (
        select(Document)
        .join(Organisation, Document.school_id == Organisation.id)
        .where(Document.status == "active")
    )
    if selection.documents:
        found = {
            d.id: d for d in session.scalars(select(Document).where(Document.id.in_(selection.documents)))
        }
        for doc_id in selection.documents:
            doc = found.get(doc_id)
            if doc is None:
                raise NotFound(
                    f"Không tìm thấy hồ sơ {doc_id}", f"No document {doc_id}", code="document_not_found"
                )
            authorize(session, user, ACTION, doc.school, document_id=doc.id)
        stmt = stmt.where(Document.id.in_(selection.documents))
    if selection.schools:
        stmt = stmt.where(Organisation.code.in_(selection.schools))
    if selection.years:
        stmt = stmt.where(Document.school_year.in_(selection.years))
    if selection.types:
        stmt = stmt.where(Document.type_code.in_(selection.types))
    if selection.classes:
        stmt = stmt.where(Document.class_name.in_(selection.classes))
    ids = school_ids_for(session, user, ACTION)
    if ids is not None:
        stmt = stmt.where(Document.school_id.in_(ids))
    stmt = stmt.order_by(
        Organisation.code,
        Document.school_year,
        Document.type_code,
        Document.class_name,
        Document.title,
        Document.id,
    )
    docs = [d for d in session.scalars(stmt.limit(MAX_DOCUMENTS + 1)) if d.current is not None]
    # a record corrected after its lock travels with its biên bản chỉnh sửa dữ liệu (CV 1370 Phụ lục II.2), which
    # lists the evidence files with their SHA-256 (the files themselves are on the correction's page)
    have = {d.id for d in docs}
    for record in corrections.records_for(session, list(have)):
        if record.id not in have and record.current is not None and (ids is None or record.school_id in ids):
            docs.append(record)
            have.add(record.id)
    if len(docs) > MAX_DOCUMENTS:
        raise InvalidInput(
            f"Gói quá lớn: hơn {MAX_DOCUMENTS} hồ sơ; hãy chọn hẹp hơn (theo năm học, loại hồ sơ, lớp)",
            f"More than {MAX_DOCUMENTS} documents; narrow the selection",
            code="package_too_large",
        )
    if not docs:
        raise InvalidInput(
            "Không có hồ sơ nào phù hợp với lựa chọn",
            "No document matches the selection",
            code="nothing_selected",
        )
    return docs


# --- evidence ---------------------------------------------------------------------------------------------------
def _signatures(validation: dict[str, Any] | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not isinstance(validation, dict):
        return {"verdict": None, "verdict_vi": "Chưa kiểm tra", "reason_vi": "", "validation_time": None}, []
    overall = {
        k: validation.get(k)
        for k in ("verdict", "verdict_vi", "sub_indication", "reason_vi", "validation_time")
    }
    sigs = [
        {
            k: s.get(k)
            for k in (
                "kind",
                "signer",
                "organisation",
                "issuer",
                "signing_time",
                "timestamp_time",
                "level",
                "verdict",
                "verdict_vi",
            )
        }
        for s in validation.get("signatures") or []
        if isinstance(s, dict)
    ]
    return overall, sigs


def _copies(session: Session, sha256: str) -> list[dict[str, Any]]:
    """The last integrity check of each copy, named by its position (store addresses stay private)."""
    obj = session.scalar(select(StoredObject).where(StoredObject.key == content_key(sha256)))
    if obj is None:
        return []
    rows = session.scalars(
        select(ReplicaCopy).where(ReplicaCopy.object_id == obj.id).order_by(ReplicaCopy.id)
    )
    return [
        {
            "copy": n,
            "state": c.state,
            "verified_at": c.verified_at.isoformat() if c.verified_at else None,
            "checked_at": c.checked_at.isoformat() if c.checked_at else None,
        }
        for n, c in enumerate(rows, 1)
    ]


def _crc32_of_verified_copy(archive: Archive, sha256: str) -> int:
    """CRC-32 of the first copy whose bytes hash to the catalog's SHA-256 (one read of one copy)."""
    key = content_key(sha256)
    results = []
    for store in archive.replicas.stores:
        try:
            f = store.get(key)
        except Exception as exc:  # a store down or a copy missing: try the next copy
            results.append(f"{store.url}: {exc}")
            continue
        h, crc = hashlib.sha256(), 0
        try:
            while chunk := f.read(1 << 20):
                h.update(chunk)
                crc = zlib.crc32(chunk, crc)
        finally:
            f.close()
        if h.hexdigest() == sha256:
            return crc
        results.append(f"{store.url}: corrupt")
    raise StorageDown(
        "Không có bản sao nguyên vẹn của một tệp trong gói; đã dừng tạo gói",
        f"No intact copy of {key} to put in the package",
        code="no_intact_copy",
    )


def create_package(archive: Archive, *, selection: Selection, actor: User | None) -> PackageSummary:
    """Select, read and check every file once, seal the evidence report, store it, and record the listing."""
    created = utcnow().replace(microsecond=0)
    with archive.sessions() as session:
        user = session.merge(actor) if actor is not None else None
        if user is None:
            raise PermissionDenied(
                "Cần một người nhận gói", "A package needs the person it is for", code="forbidden"
            )
        docs = select_documents(session, user, selection)
        rows: list[dict[str, Any]] = []
        for d in docs:
            v = d.current
            assert v is not None
            overall, sigs = _signatures(v.validation)
            ext = v.original_filename.rpartition(".")[2] if "." in v.original_filename else "pdf"
            rows.append(
                {
                    "name": entry_name(d.school.code, d.school_year, d.type_code, d.class_name, d.title, ext),
                    "kind": "document",
                    "document_id": d.id,
                    "version": v.number,
                    "school": d.school.code,
                    "school_name": d.school.name,
                    "school_id": d.school_id,
                    "year": d.school_year,
                    "type": d.type_code,
                    "type_name": d.doc_type.name_vi,
                    "class_name": d.class_name,
                    "title": d.title,
                    "sha256": v.sha256,
                    "size": v.size,
                    "media_type": v.media_type,
                    "signed": v.signed,
                    "validation": overall,
                    "signatures": sigs,
                    "copies": _copies(session, v.sha256),
                }
            )
        by_name = user.full_name or user.username
        username, user_id = user.username, user.id
    for row, name in zip(
        rows, unique_names([r["name"] for r in rows], [r["document_id"] for r in rows]), strict=True
    ):
        row["name"] = name
        row["crc32"] = _crc32_of_verified_copy(archive, row["sha256"])
    package_id = str(uuid.uuid4())
    listing = {
        "package": package_id,
        "created_at": created.isoformat(),
        "created_by": username,
        "created_by_name": by_name,
        "selection": selection.to_dict(),
        "documents": len(rows),
        "total_bytes": sum(r["size"] for r in rows),
        "verdict_terms": "Thông tư 15/2025/TT-BKHCN: Hợp lệ / Không hợp lệ / Chưa xác định",
        "files": [{k: v for k, v in r.items() if k not in ("crc32", "school_id")} for r in rows],
    }
    listing_bytes = json.dumps(listing, ensure_ascii=False, indent=1).encode("utf-8")
    listing_sha = hashlib.sha256(listing_bytes).hexdigest()
    if archive.signing is None:
        raise StorageDown(
            "Chưa cấu hình chữ ký số của hệ thống", "No system seal is configured", code="no_seal"
        )
    pdf = archive.signing.sign_org(render_report(listing, listing_sha256=listing_sha, json_name=REPORT_JSON))
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    sums = "".join(f"{r['sha256']}  {r['name']}\n" for r in rows)
    sums += f"{listing_sha}  {REPORT_JSON}\n{pdf_sha}  {REPORT_PDF}\n"
    generated = [(REPORT_PDF, pdf), (REPORT_JSON, listing_bytes), (SUMS, sums.encode("ascii"))]
    stored: list[tuple[str, str, int, Any]] = []
    for name, data in generated:
        key, sha = f"{EXPORT_PREFIX}{package_id}/{name}", hashlib.sha256(data).hexdigest()
        try:
            stored.append((key, sha, len(data), archive.replicas.put_bytes(key, data, sha)))
        except NotEnoughReplicas as exc:
            raise StorageDown(
                "Không lưu được báo cáo kiểm tra vào đủ kho", f"Could not store the evidence report: {exc}"
            ) from None
    entries = [
        {k: r[k] for k in ("name", "kind", "document_id", "version", "sha256", "size", "crc32")}
        | {"key": None}
        for r in rows
    ]
    for (name, data), (key, sha, size, _) in zip(generated, stored, strict=True):
        entries.append(
            {
                "name": name,
                "kind": "report",
                "document_id": None,
                "version": None,
                "sha256": sha,
                "size": size,
            }
            | {"crc32": zlib.crc32(data), "key": key}
        )
    zip_size = layout_of(entries, created, archive=None).size
    with archive.sessions() as session, session.begin():
        for key, sha, size, results in stored:
            track_object(session, key, sha, size, "export", results)
        pkg = InspectionPackage(
            id=package_id,
            created_at=created,
            created_by_id=user_id,
            actor=username,
            selection=selection.to_dict(),
            entries={"files": entries},
            documents=len(rows),
            zip_size=zip_size,
            report_sha256=pdf_sha,
        )
        session.add(pkg)
        who = session.get(User, user_id)
        record_event(
            session,
            "inspection.package",
            actor=who,
            detail={
                "package": package_id,
                "documents": len(rows),
                "zip_size": zip_size,
                "report_sha256": pdf_sha,
            }
            | {"selection": selection.to_dict()},
        )
        for r in rows:
            record_event(
                session,
                "inspection.include",
                actor=who,
                document_id=r["document_id"],
                organisation_id=r["school_id"],
                detail={
                    "package": package_id,
                    "name": r["name"],
                    "version": r["version"],
                    "sha256": r["sha256"],
                },
            )
    return summary_of(pkg)


def summary_of(pkg: InspectionPackage) -> PackageSummary:
    files = list((pkg.entries or {}).get("files", []))
    return PackageSummary(
        pkg.id,
        pkg.created_at,
        pkg.actor,
        pkg.documents,
        pkg.zip_size,
        pkg.report_sha256,
        zip_filename(pkg.id),
        dict(pkg.selection or {}),
        files,
    )


# --- the ZIP ----------------------------------------------------------------------------------------------------
def layout_of(entries: Sequence[dict[str, Any]], created: datetime, *, archive: Archive | None) -> ZipLayout:
    def opener(e: dict[str, Any]) -> Any:
        def open_() -> Iterator[bytes]:
            if archive is None:
                raise RuntimeError("a layout built for its size only cannot be read")
            key = e["key"] or content_key(e["sha256"])
            try:
                _, chunks = archive.replicas.open_verified(key, e["sha256"])
            except NoGoodCopy:
                raise StorageDown(
                    "Không có bản sao nguyên vẹn của một tệp trong gói",
                    f"No intact copy of {e['name']}",
                    code="no_intact_copy",
                ) from None
            return chunks

        return open_

    return ZipLayout([ZipEntry(e["name"], e["size"], e["crc32"], opener(e)) for e in entries], created)


def get_package(session: Session, user: User, package_id: str) -> InspectionPackage:
    """The package, for the person who made it (or the system administrator), while they may still download every
    school's files in it (a person who lost the role loses the package)."""
    pkg = session.get(InspectionPackage, package_id)
    if pkg is None:
        raise NotFound(
            f"Không tìm thấy gói {package_id}", f"No package {package_id}", code="package_not_found"
        )
    if pkg.created_by_id != user.id and not user.is_system_admin:
        raise NotFound(
            f"Không tìm thấy gói {package_id}", f"No package {package_id}", code="package_not_found"
        )
    doc_ids = [e["document_id"] for e in pkg.entries.get("files", []) if e.get("document_id")]
    schools = {d.school for d in session.scalars(select(Document).where(Document.id.in_(doc_ids)))}
    for school in sorted(schools, key=lambda o: o.code):
        if not permitted(session, user, ACTION, school):
            authorize(session, user, ACTION, school)  # raises, recorded
    return pkg


def list_packages(session: Session, user: User, limit: int = 50) -> list[PackageSummary]:
    stmt = select(InspectionPackage).order_by(InspectionPackage.created_at.desc()).limit(limit)
    if not user.is_system_admin:
        stmt = stmt.where(InspectionPackage.created_by_id == user.id)
    return [summary_of(p) for p in session.scalars(stmt)]


@dataclass(frozen=True)
class PackageStream:
    package_id: str
    filename: str
    size: int
    start: int
    end: int  # inclusive
    chunks: Iterator[bytes]
    etag: str


@dataclass(frozen=True)
class PackageHead:
    size: int
    etag: str
    filename: str


def package_head(archive: Archive, package_id: str, *, actor: User) -> PackageHead:
    """Size, ETag and file name of the package's ZIP (after the same checks as a download), nothing read."""
    with archive.sessions() as session:
        pkg = get_package(session, session.merge(actor), package_id)
        return PackageHead(pkg.zip_size, etag_of(pkg), zip_filename(pkg.id))


def etag_of(pkg: InspectionPackage) -> str:
    # the listing fixes every byte, and the sealed report's digest fixes the listing
    return f'"{pkg.id}-{pkg.report_sha256[:16]}"'


def package_layout(archive: Archive, package_id: str, *, actor: User) -> tuple[PackageSummary, ZipLayout]:
    """The package (after the same checks as a download) and its ZIP layout, for a caller that records its own
    delivery (e-mail)."""
    with archive.sessions() as session:
        pkg = get_package(session, session.merge(actor), package_id)
        return summary_of(pkg), layout_of(pkg.entries["files"], pkg.created_at, archive=archive)


def open_package(
    archive: Archive, package_id: str, *, actor: User, start: int = 0, end: int | None = None
) -> PackageStream:
    """Bytes `start`..`end` (inclusive) of the package's ZIP, recorded as `inspection.download`."""
    with archive.sessions() as session, session.begin():
        user = session.merge(actor)
        pkg = get_package(session, user, package_id)
        layout = layout_of(pkg.entries["files"], pkg.created_at, archive=archive)
        last = layout.size - 1 if end is None else min(end, layout.size - 1)
        if start < 0 or start > last:
            raise InvalidInput(
                "Khoảng byte yêu cầu nằm ngoài gói",
                "Requested range is outside the package",
                code="bad_range",
            )
        record_event(
            session,
            "inspection.download",
            actor=user,
            detail={"package": package_id, "start": start, "end": last, "size": layout.size},
        )
        etag = etag_of(pkg)
    return PackageStream(
        package_id, zip_filename(package_id), layout.size, start, last, layout.stream(start, last), etag
    )
