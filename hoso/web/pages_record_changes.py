"""Sửa hồ sơ: before the lock, the uploader or the office edits a record's details, replaces its file with a new
version, or withdraws it with a reason (archive/record_changes.py holds the rules; this module only parses forms)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.datastructures import UploadFile

from archive import documents as docs
from archive import finding, record_changes
from archive.errors import ArchiveError, AuthError, InvalidInput
from archive.ingest import spool
from archive.models import DocumentType
from archive.permissions import authorize, permitted, upload_action
from hoso.api.schemas import DocumentSummary
from hoso.api.upload_form import chosen_file, form_of, form_texts
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _page(request: Request, who: Viewer, doc_id: str, status: int = 200, **extra: Any) -> Response:
    with archive_of(request).sessions() as session:
        doc = docs.get_document(session, doc_id)
        user = session.merge(who.user)
        authorize(session, user, "document.read", doc.school, document_id=doc.id)
        finding.ensure_visible(session, user, doc)
        record_changes.check_change(session, user, doc)  # a page offering nothing allowed is an error page
        data = DocumentSummary.of(doc).model_dump()
        # the types this person may upload at this school: the only ones a record can be moved to
        types = [
            (t.code, t.name_vi)
            for t in session.scalars(select(DocumentType).order_by(DocumentType.name_vi))
            if permitted(session, user, upload_action(t.kept_by), doc.school)
        ]
    return render(request, "document_edit.html", status_code=status, doc=data, types=types, **extra)


@router.get("/ho-so/{doc_id}/sua")
def edit_page(request: Request, doc_id: str, who: Viewer = Depends(viewer)) -> Response:
    return _page(request, who, doc_id)


@router.post("/ho-so/{doc_id}/sua")
def edit_details(
    request: Request,
    doc_id: str,
    title: str = Form("", max_length=500),
    class_name: str = Form("", max_length=50),
    subject: str = Form("", max_length=100),
    teacher: str = Form("", max_length=200),
    type_code: str = Form("", alias="type", max_length=64),
    reason: str = Form("", max_length=500),
    who: Viewer = Depends(form_viewer),
) -> Response:
    values = {
        "title": title,
        "class_name": class_name,
        "subject": subject,
        "teacher": teacher,
        "type_code": type_code,
    }
    try:
        with archive_of(request).sessions() as session, session.begin():
            doc = docs.get_document(session, doc_id)
            record_changes.edit_details(
                session, doc, actor=session.merge(who.user), values=values, reason=reason
            )
    except InvalidInput as exc:
        return _page(
            request, who, doc_id, exc.status, error=exc.message_vi, error_en=exc.message_en, form="sua"
        )
    return RedirectResponse(f"/ho-so/{doc_id}?da_sua=1#lich-su-sua", status_code=303)


@router.post("/ho-so/{doc_id}/thay-tep")
async def replace_file(request: Request, doc_id: str, who: Viewer = Depends(form_viewer)) -> Response:
    # form_viewer has checked the session and the CSRF field; the body is bounded like an upload (hoso/http_limits.py)
    async with form_of(request) as form:
        upload = chosen_file(form)
        if upload is None:
            return await run_in_threadpool(
                _page, request, who, doc_id, 422, error="Chưa chọn tệp để thay.", error_en="No file chosen.",
                form="thay",
            )  # fmt: skip
        return await run_in_threadpool(
            _replace, request, who, doc_id, upload, form_texts(form, "reason")["reason"]
        )


def _replace(request: Request, who: Viewer, doc_id: str, upload: UploadFile, reason: str) -> Response:
    archive = archive_of(request)
    path, sha, size = spool(archive, upload.file)
    try:
        version = record_changes.replace_file(
            archive, doc_id, path, filename=upload.filename or "", sha256=sha, size=size, reason=reason,
            actor=who.user,
        )  # fmt: skip
    except ArchiveError as exc:
        if isinstance(exc, AuthError) or exc.status in (403, 404):
            raise
        return _page(
            request, who, doc_id, exc.status, error=exc.message_vi, error_en=exc.message_en, code=exc.code,
            form="thay",
        )  # fmt: skip
    finally:
        path.unlink(missing_ok=True)
    return RedirectResponse(f"/ho-so/{doc_id}?thay={version.number}", status_code=303)


@router.post("/ho-so/{doc_id}/rut")
def withdraw(
    request: Request, doc_id: str, reason: str = Form("", max_length=500), who: Viewer = Depends(form_viewer)
) -> Response:
    try:
        with archive_of(request).sessions() as session, session.begin():
            doc = docs.get_document(session, doc_id)
            record_changes.withdraw(session, doc, actor=session.merge(who.user), reason=reason)
    except InvalidInput as exc:
        return _page(
            request, who, doc_id, exc.status, error=exc.message_vi, error_en=exc.message_en, form="rut"
        )
    return RedirectResponse(f"/ho-so/{doc_id}?da_rut=1", status_code=303)
