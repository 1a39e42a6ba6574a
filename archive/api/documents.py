from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from .. import documents as docs
from ..context import Archive
from ..ingest import _resolve, ingest_stream, too_large
from ..permissions import upload_action
from .deps import Guard, get_archive, get_guard

router = APIRouter(tags=["documents"])


@router.post(
    "/documents",
    status_code=201,
    summary="Upload a file: stored as verified copies in every replica, then catalogued",
    responses={200: {"description": "The same bytes were already stored for this school and type"}},
)
def upload(
    request: Request,
    file: Annotated[UploadFile, File(description="The file (PDF export, lesson plan …)")],
    school: Annotated[str, Form()],
    type: Annotated[str, Form(description="Document type code (shared/data/document-types.csv)")],
    year: Annotated[str, Form(description="School year, e.g. 2024-2025")],
    title: Annotated[str | None, Form()] = None,
    class_name: Annotated[str | None, Form()] = None,
    subject: Annotated[str | None, Form()] = None,
    teacher: Annotated[str | None, Form()] = None,
    archive: Archive = Depends(get_archive),
    guard: Guard = Depends(get_guard),
) -> JSONResponse:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > archive.settings.max_upload_bytes + 64 * 1024:
        raise too_large(archive.settings.max_upload_bytes)
    with archive.sessions() as session:
        # who may upload depends on whose record it is: school, professional group, or the teacher's own
        org, dtype = _resolve(session, school, type)
        user = guard.check(session, upload_action(dtype.kept_by), org)
        session.expunge(user)
    result = ingest_stream(
        archive,
        file.file,
        filename=file.filename or "",
        school=school,
        type_code=type,
        year=year,
        title=title,
        class_name=class_name,
        subject=subject,
        teacher=teacher,
        actor=user,
    )
    with archive.sessions() as session:
        body = docs.document_to_dict(session, docs.get_document(session, result.document.id))
    body["created"] = result.created
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.get("/documents", summary="Search the catalog")
def list_documents(
    school: str | None = None,
    type: str | None = None,
    year: str | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    archive: Archive = Depends(get_archive),
    guard: Guard = Depends(get_guard),
) -> dict[str, Any]:
    with archive.sessions() as session:
        # only what the caller may read: their school, or their inspection jurisdiction
        rows, total = docs.list_documents(
            session,
            school=school,
            type_code=type,
            year=year,
            q=q,
            school_ids=guard.school_ids(session, "document.read"),
            limit=limit,
            offset=offset,
        )
        return {"total": total, "items": [docs.document_to_dict(session, d, full=False) for d in rows]}


@router.get("/documents/{doc_id}", summary="One document with its versions and replica states")
def get_document(
    doc_id: str, archive: Archive = Depends(get_archive), guard: Guard = Depends(get_guard)
) -> dict[str, Any]:
    with archive.sessions() as session:
        doc = docs.get_document(session, doc_id)
        guard.check(session, "document.read", doc.school, document_id=doc.id)
        return docs.document_to_dict(session, doc)


@router.get(
    "/documents/{doc_id}/content",
    summary="The bytes, as an attachment (never a link), from a copy verified against the catalog digest",
    response_class=StreamingResponse,
)
def get_content(
    doc_id: str,
    version: int | None = None,
    archive: Archive = Depends(get_archive),
    guard: Guard = Depends(get_guard),
) -> StreamingResponse:
    with archive.sessions() as session:
        doc = docs.get_document(session, doc_id)
        user = guard.check(session, "document.download", doc.school, document_id=doc.id)
        session.expunge(user)
    content = docs.open_content(archive, doc_id, version=version, actor=user)
    headers = {
        "Content-Disposition": docs.content_disposition(content.filename),
        "Content-Length": str(content.size),
        "Digest": f"sha-256={content.sha256}",
        "X-Content-SHA256": content.sha256,
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(content.chunks, media_type=content.media_type, headers=headers)
