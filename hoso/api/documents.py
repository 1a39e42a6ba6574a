from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from archive import documents as docs
from archive import renditions
from archive.context import Archive
from archive.finding import (
    COUNT_CAP,
    SORT_KEYS,
    DocumentFilter,
    ensure_visible,
    find_documents,
    visible_school_ids,
)
from archive.ingest import ingest_stream, resolve_school_and_type
from archive.permissions import upload_action
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from hoso.api.schemas import DocumentOut, DocumentPage, DocumentSummary, UploadedDocument
from hoso.api.upload_form import OPENAPI_UPLOAD, read_upload_form

router = APIRouter(tags=["documents"])


@router.post(
    "/documents",
    status_code=201,
    summary="Upload a file: stored as verified copies in every replica, then catalogued",
    responses={
        200: {
            "model": UploadedDocument,
            "description": "The same bytes were already stored for this school and type",
        }
    },
    openapi_extra=OPENAPI_UPLOAD,
)
async def upload(
    request: Request, response: Response, archive: ArchiveDep, guard: GuardDep
) -> UploadedDocument:
    # the dependencies have authenticated the caller: only now is the body read (hoso/api/upload_form.py)
    try:
        form = await read_upload_form(request)
        assert form.file is not None
        body = await run_in_threadpool(_store_upload, archive, guard, form.file, form.fields)
    finally:
        await request.close()  # the spooled form file goes now, not when the connection does
    response.status_code = 201 if body.created else 200
    return body


def _store_upload(
    archive: Archive, guard: Guard, file: UploadFile, fields: dict[str, str]
) -> UploadedDocument:
    with archive.sessions() as session:
        # who may upload depends on whose record it is: school, professional group, or the teacher's own
        org, dtype = resolve_school_and_type(session, fields["school"], fields["type"])
        user = guard.check(session, upload_action(dtype.kept_by), org)
        session.expunge(user)
    result = ingest_stream(
        archive,
        file.file,
        filename=file.filename or "",
        school=fields["school"],
        type_code=fields["type"],
        year=fields["year"],
        title=fields.get("title") or None,
        class_name=fields.get("class_name") or None,
        subject=fields.get("subject") or None,
        teacher=fields.get("teacher") or None,
        actor=user,
    )
    with archive.sessions() as session:
        return UploadedDocument.after_upload(
            session, docs.get_document(session, result.document.id), result.created
        )


@router.get("/documents", summary="Search the catalog")
def list_documents(
    school: str | None = None,
    type: str | None = None,
    year: str | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Title, class, subject or teacher; diacritics and case ignored"),
    ] = None,
    status: Annotated[
        str | None,
        Query(description="active, withdrawn or disposed; by default every record except withdrawn ones"),
    ] = None,
    mine: Annotated[bool, Query(description="Only records I uploaded or whose teacher I am")] = False,
    locked: Annotated[
        bool | None, Query(description="Only locked (true) or unlocked (false) records")
    ] = None,
    damaged: Annotated[bool | None, Query(description="Only records with a missing or corrupt copy")] = None,
    sort: Annotated[str, Query(description=f"One of {', '.join(SORT_KEYS)}")] = "created",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    *,
    archive: ArchiveDep,
    guard: GuardDep,
) -> DocumentPage:
    f = DocumentFilter(
        school=school, type_code=type, year=year, q=q, status=status, mine=mine, locked=locked, damaged=damaged,
        sort=sort, descending=order == "desc",
    )  # fmt: skip
    with archive.sessions() as session:
        # only what the caller may read: their school, or their inspection jurisdiction
        rows, total = find_documents(
            session,
            f,
            school_ids=visible_school_ids(session, guard.user, f, scopes=guard.scopes),
            user_id=guard.user.id,
            user_name=guard.user.full_name or None,
            limit=limit,
            offset=offset,
        )
        return DocumentPage(
            total=min(total, COUNT_CAP),
            total_capped=total > COUNT_CAP,
            items=DocumentSummary.page(session, rows),
        )


@router.get("/documents/{doc_id}", summary="One document with its versions and replica states")
def get_document(doc_id: str, archive: ArchiveDep, guard: GuardDep) -> DocumentOut:
    with archive.sessions() as session:
        doc = docs.get_document(session, doc_id)
        user = guard.check(session, "document.read", doc.school, document_id=doc.id)
        ensure_visible(session, user, doc)
        return DocumentOut.full(session, doc)


@router.get(
    "/documents/{doc_id}/content",
    summary="The bytes, as an attachment (never a link), from a copy verified against the catalog digest",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The file as stored, with its own media type (application/pdf …)",
        }
    },
)
def get_content(
    doc_id: str,
    archive: ArchiveDep,
    guard: GuardDep,
    version: int | None = None,
    rendition: Annotated[
        str | None,
        Query(description="`original`: the Office file as uploaded, instead of the PDF/A made from it"),
    ] = None,
) -> Response:
    with archive.sessions() as session:
        doc = docs.get_document_to_serve(session, doc_id)
        user = guard.check(session, "document.download", doc.school, document_id=doc.id)
        ensure_visible(session, user, doc)
        source = docs.content_source(session, doc.id, version) if rendition is None else None
        session.expunge(user)
    if source is None:
        content = renditions.open_rendition(archive, doc_id, str(rendition), version=version, actor=user)
    else:
        content = docs.open_content(archive, doc_id, actor=user, source=source)
    headers = {
        "Content-Disposition": docs.content_disposition(content.download_name),
        "Content-Length": str(content.size),
        "Digest": f"sha-256={content.sha256}",
        "X-Content-SHA256": content.sha256,
        "Cache-Control": "private, no-store",
    }
    if (target := docs.accel_redirect(archive.settings, content)) is not None:
        # authorised, verified and recorded: the reverse proxy sends the file (its Content-Length, not ours)
        del headers["Content-Length"]
        return Response(media_type=content.media_type, headers=headers | {"X-Accel-Redirect": target})
    return StreamingResponse(content.chunks, media_type=content.media_type, headers=headers)
