"""Catalog backup: the metadata exported as XML to every replica (Thông tư 02/2019/TT-BNV: "metadata backed up as XML").

`export_metadata(archive, day)` is a plain job function (the scheduler registers it daily). One file per day,
`exports/metadata/YYYY-MM-DD.xml`, tracked as a stored object of kind `export` so fixity checks it like any other copy.
A second run on the same day returns the file already made (stores never overwrite bytes).

Field names follow Nghị định 30/2020 Phụ lục VI: each dossier (hồ sơ = one school, school year and document type) has
FileCode … Description; each document TypeName … FullName. What hoso does not know (document numbers, issue dates) is
left empty rather than invented. hoso's own facts (ids, versions, checksums, signatures, disposal) are added in the
same elements so the export alone can rebuild the list of what was kept and what was destroyed.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.context import Archive
from archive.db import utcnow
from archive.errors import StorageDown
from archive.events import record_event
from archive.manifests import file_code
from archive.models import Document, Organisation, StoredObject
from archive.stored_objects import track_object
from storage import NotEnoughReplicas, ReplicaResult, content_key

from . import rules
from .models import DisposedVersion
from .schedules import decide_documents, load_schedules

EXPORT_PREFIX = "exports/"
METADATA_PREFIX = "exports/metadata/"
NAMESPACE = "urn:hoso:metadata:1"


@dataclass(frozen=True)
class ExportResult:
    key: str
    sha256: str
    size: int
    dossiers: int
    documents: int
    created: bool
    replicas: tuple[ReplicaResult, ...]


def export_key(day: date) -> str:
    return f"{METADATA_PREFIX}{day.isoformat()}.xml"


def export_metadata(archive: Archive, day: date | None = None) -> ExportResult:
    day = day or date.today()
    key = export_key(day)
    with archive.sessions() as session:
        existing = session.scalar(select(StoredObject).where(StoredObject.key == key))
        if existing is not None:
            return ExportResult(
                key,
                existing.sha256,
                existing.size,
                0,
                0,
                False,
                tuple(ReplicaResult(c.store_url, c.state, c.detail) for c in existing.copies),
            )
        data, dossiers, documents = build_metadata_xml(session, day)
    sha = hashlib.sha256(data).hexdigest()
    try:
        results = archive.replicas.put_bytes(key, data, sha)
    except NotEnoughReplicas as exc:
        raise StorageDown(
            "Không lưu được bản sao lưu siêu dữ liệu vào đủ kho",
            f"Could not store the metadata export in enough replicas: {exc}",
        ) from None
    with archive.sessions() as session, session.begin():
        track_object(session, key, sha, len(data), "export", results)
        record_event(
            session,
            "catalog.export_metadata",
            actor_name="system",
            detail={"key": key, "sha256": sha, "documents": documents, "dossiers": dossiers},
        )
    return ExportResult(key, sha, len(data), dossiers, documents, True, tuple(results))


def read_organisations(data: bytes) -> list[dict[str, str]]:
    """The organisation tree from an export (the rebuild uses it: manifests only name a school's direct parent)."""
    root = ET.fromstring(data)
    return [dict(el.attrib) for el in root.iter(f"{{{NAMESPACE}}}Organisation")]


def _text(parent: ET.Element, tag: str, value: object, limit: int | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if value is not None:
        text = str(value)
        el.text = text[:limit] if limit else text
    return el


def _signer(validation: dict[str, Any] | None) -> tuple[str, str]:
    """(Position, FullName) of the first signer a validation report names, if any."""
    if not isinstance(validation, dict):
        return "", ""
    for sig in validation.get("signatures") or []:
        if isinstance(sig, dict) and sig.get("signer"):
            signer = sig["signer"]
            if isinstance(signer, dict):
                return str(signer.get("title") or ""), str(
                    signer.get("name") or signer.get("common_name") or ""
                )
            return str(sig.get("position") or ""), str(signer)
    return "", ""


def build_metadata_xml(session: Session, day: date) -> tuple[bytes, int, int]:
    schedules = load_schedules(session)
    disposed = {d.version_id: d for d in session.scalars(select(DisposedVersion))}
    docs = list(
        session.scalars(select(Document).order_by(Document.school_id, Document.school_year, Document.id))
    )
    dossiers: dict[str, list[Document]] = {}
    for doc in docs:
        dossiers.setdefault(file_code(doc), []).append(doc)
    root = ET.Element(
        "MetadataExport",
        {
            "xmlns": NAMESPACE,
            "day": day.isoformat(),
            "generated": utcnow().isoformat(),
            "standard": "Thông tư 02/2019/TT-BNV; Nghị định 30/2020/NĐ-CP Phụ lục VI",
        },
    )
    orgs = ET.SubElement(root, "Organisations")
    for o in session.scalars(select(Organisation).order_by(Organisation.code)):
        ET.SubElement(
            orgs,
            "Organisation",
            {
                "code": o.code,
                "name": o.name,
                "kind": o.kind,
                "level": o.level or "",
                "parent": o.parent.code if o.parent else "",
            },
        )
    for code, members in sorted(dossiers.items()):
        first = members[0]
        decisions = [d for _, d in decide_documents(session, members, day, schedules)]
        maintenance = _maintenance(decisions)
        start, _, end = first.school_year.partition("-")
        f = ET.SubElement(root, "File")
        _text(f, "FileCode", code, 57)
        _text(f, "OrganId", first.school.code, 13)
        _text(f, "FileCatalog", end, 4)
        _text(f, "FileNotation", first.type_code, 20)
        _text(f, "Title", f"{first.doc_type.name_vi} — năm học {first.school_year}", 500)
        _text(f, "Maintenance", maintenance, 30)
        _text(f, "Rights", "Hạn chế", 30)
        _text(f, "Creator", first.school.name, 30)
        _text(f, "Language", "vi", 50)
        _text(f, "StartDate", f"{start}-09-01")
        _text(f, "EndDate", f"{end}-05-31")
        _text(f, "DocTotal", len(members))
        _text(f, "PageTotal", sum((d.current.page_count or 0) for d in members if d.current))
        _text(f, "Description", "", 500)
        for doc, decision in zip(members, decisions, strict=True):
            _document(f, doc, decision, disposed)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data, len(dossiers), len(docs)


def _maintenance(decisions: list[rules.Decision]) -> str:
    if any(not d.confirmed for d in decisions):
        return "Vĩnh viễn (chưa xác nhận)"
    if any(d.disposable_from is None and d.period.kind == rules.PERMANENT for d in decisions):
        return "Vĩnh viễn"
    return max(decisions, key=lambda d: d.disposable_from or date.max).period.label_vi


def _document(
    parent: ET.Element, doc: Document, decision: rules.Decision, disposed: dict[int, DisposedVersion]
) -> None:
    cur = doc.current
    position, full_name = _signer(cur.validation if cur else None)
    d = ET.SubElement(parent, "Document", {"id": doc.id, "status": doc.status})
    _text(d, "TypeName", doc.doc_type.name_vi, 100)
    _text(d, "CodeNumber", "", 11)
    _text(d, "CodeNotation", "", 30)
    _text(d, "IssuedDate", "")
    _text(d, "OrganName", doc.school.name, 200)
    _text(d, "Subject", doc.title, 500)
    _text(d, "Language", "vi", 100)
    _text(d, "PageAmount", cur.page_count if cur else None)
    _text(d, "Position", position, 100)
    _text(d, "FullName", full_name, 50)
    _text(d, "Maintenance", decision.period.label_vi if decision.confirmed else "Vĩnh viễn (chưa xác nhận)")
    _text(d, "DisposableFrom", decision.disposable_from.isoformat() if decision.disposable_from else "")
    for v in doc.versions:
        attrs = {
            "number": str(v.number),
            "sha256": v.sha256,
            "size": str(v.size),
            "mediaType": v.media_type,
            "filename": v.original_filename,
            "createdAt": v.created_at.isoformat(),
            "createdBy": v.created_by.username if v.created_by else "",
            "signed": "true" if v.signed else "false",
            "manifestSha256": v.manifest_sha256,
            "contentKey": content_key(v.sha256),
        }
        if v.id in disposed:
            attrs["disposedAt"] = disposed[v.id].disposed_at.isoformat()
        ET.SubElement(d, "Version", attrs)
