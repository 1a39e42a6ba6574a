"""What the signing pages tell hoso-signer (the token bridge on the signer's computer, package signer_agent).

The agent shows the person what she is about to sign before asking for her PIN: so every signing request the pages
hand out names its document (title, school) next to the digest.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from archive import documents as docs
from hoso.web.common import archive_of


def agent_context(request: Request) -> dict[str, Any]:
    settings = archive_of(request).settings
    return {"agent_url": settings.signer_agent_url.rstrip("/"), "hoso_origin": settings.base_url.rstrip("/")}


def with_document(session: Session, request_body: dict[str, Any], doc_id: str) -> dict[str, Any]:
    doc = docs.get_document(session, doc_id)
    school = doc.school.name if doc.school is not None else ""
    return request_body | {"document": {"id": doc.id, "title": doc.title, "school": school}}
