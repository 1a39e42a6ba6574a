"""Self-describing storage: every version writes an immutable JSON manifest to every replica.

A manifest carries everything the catalog holds for the document and version, plus the previous manifest's SHA-256,
so the catalog can be rebuilt from any single replica (`hoso catalog rebuild`). Field names for the dossier and
document follow Nghị định 30/2020 Phụ lục VI where one exists (FileCode, Title, Maintenance, …).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from storage import content_key

from .models import Document, Version

FORMAT = "hoso-manifest/1"
PREFIX = "manifests/"


def manifest_key(document_id: str, number: int) -> str:
    return f"{PREFIX}{document_id}/{number:06d}.json"


def file_code(doc: Document) -> str:
    """FileCode = OrganId + FileCatalog (year) + FileNotation, as Nghị định 30/2020 Phụ lục VI lays it out."""
    year = doc.school_year.split("-")[-1]
    return f"{doc.school.code}.{year}.{doc.type_code}"[:57]


def build_manifest(doc: Document, version: Version, previous_manifest_sha256: str | None) -> dict[str, Any]:
    school = doc.school
    parent = school.parent
    start, _, end = doc.school_year.partition("-")
    return {
        "format": FORMAT,
        "dossier": {
            "FileCode": file_code(doc),
            "OrganId": school.code,
            "FileCatalog": end or start,
            "FileNotation": doc.type_code,
            "Title": doc.title,
            "Maintenance": None,  # filled by the retention schedule; the schedule is authoritative
            "Rights": "Hạn chế",
            "Creator": school.name,
            "Language": "vi",
            "StartDate": f"{start}-09-01" if start.isdigit() else None,
            "EndDate": f"{end}-05-31" if end.isdigit() else None,
            "Description": "",
        },
        "document": {
            "id": doc.id,
            "TypeName": doc.doc_type.name_vi,
            "type_code": doc.type_code,
            "school_year": doc.school_year,
            "Subject": doc.title,
            "class_name": doc.class_name,
            "subject_taught": doc.subject,
            "teacher": doc.teacher,
            "OrganName": school.name,
            "Language": "vi",
            "PageAmount": version.page_count,
            "status": doc.status,
            "created_at": doc.created_at.isoformat(),
            "created_by": doc.created_by.username if doc.created_by else None,
        },
        "organisation": {
            "code": school.code,
            "name": school.name,
            "kind": school.kind,
            "level": school.level,
            "parent": {"code": parent.code, "name": parent.name, "kind": parent.kind, "level": parent.level}
            if parent
            else None,
        },
        "version": {
            "number": version.number,
            "sha256": version.sha256,
            "size": version.size,
            "media_type": version.media_type,
            "original_filename": version.original_filename,
            "page_count": version.page_count,
            "created_at": version.created_at.isoformat(),
            "created_by": version.created_by.username if version.created_by else None,
            "reason": version.reason,
            "signed": version.signed,
            "validation": version.validation,
            "content_key": content_key(version.sha256),
        },
        "previous_manifest_sha256": previous_manifest_sha256,
    }


def serialise(manifest: dict[str, Any]) -> tuple[bytes, str]:
    data = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()
