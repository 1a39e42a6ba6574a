"""Chỉnh sửa dữ liệu đã khóa (CV 1370 Phụ lục II.2): the request form on a locked record, the list "Đề nghị chỉnh
sửa" where the principal approves or refuses, one request's page (status, evidence, the decision, the upload of the
corrected version, the biên bản and its signers). archive/corrections.py holds the rules; this module parses forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from archive import corrections, finding, locks
from archive import documents as docs
from archive.correction_models import CorrectionRequest
from archive.errors import ArchiveError, AuthError, InvalidInput, NotFound
from archive.ingest import spool
from archive.models import User
from archive.permissions import authorize, permitted
from hoso.api.correction_schemas import CorrectionOut
from hoso.api.upload_form import chosen_file, chosen_files, form_of, form_texts, spooled_files
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer
from retention.correction_record import apply_correction

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def view(session: Session, req: CorrectionRequest) -> dict[str, Any]:
    return CorrectionOut.of(session, req).model_dump()


def _readable(session: Session, user: User, req: CorrectionRequest) -> None:
    authorize(session, user, "document.read", req.document.school, document_id=req.document_id)
    finding.ensure_visible(session, user, req.document)


# --- the request form on a locked record ---------------------------------------------------------------------------
def _form_page(request: Request, who: Viewer, doc_id: str, status: int = 200, **extra: Any) -> Response:
    with archive_of(request).sessions() as session:
        doc = docs.get_document(session, doc_id)
        user = session.merge(who.user)
        authorize(session, user, "correction.request", doc.school, document_id=doc.id)
        finding.ensure_visible(session, user, doc)
        lock = locks.find_lock(session, doc.school_id, doc.type_code, doc.school_year)
        pending = corrections.open_request(session, doc.id)
        data = {
            "id": doc.id, "title": doc.title, "type_name": doc.doc_type.name_vi, "year": doc.school_year,
            "class_name": doc.class_name or "", "version": doc.versions[-1].number, "locked": lock is not None,
        }  # fmt: skip
    return render(
        request, "correction_request.html", status_code=status, doc=data, pending=pending.id if pending else None,
        max_files=corrections.MAX_EVIDENCE_FILES, max_mb=corrections.MAX_EVIDENCE_BYTES // (1024 * 1024), **extra,
    )  # fmt: skip


@router.get("/ho-so/{doc_id}/de-nghi-chinh-sua")
def request_page(request: Request, doc_id: str, who: Viewer = Depends(viewer)) -> Response:
    return _form_page(request, who, doc_id)


@router.post("/ho-so/{doc_id}/de-nghi-chinh-sua")
async def file_request(request: Request, doc_id: str, who: Viewer = Depends(form_viewer)) -> Response:
    async with form_of(request) as form:
        text = form_texts(form, "wrong", "should_be", "why")
        uploads = chosen_files(form, "evidence")
        return await run_in_threadpool(_file_request, request, who, doc_id, text, uploads)


def _file_request(
    request: Request, who: Viewer, doc_id: str, text: dict[str, str], uploads: list[UploadFile]
) -> Response:
    archive = archive_of(request)
    try:
        with spooled_files(archive, uploads, corrections.MAX_EVIDENCE_FILES) as files:
            req = corrections.file_request(archive, doc_id, actor=who.user, evidence=files, **text)
    except ArchiveError as exc:
        if isinstance(exc, AuthError) or exc.status in (403, 404):
            raise
        return _form_page(
            request, who, doc_id, exc.status, error=exc.message_vi, error_en=exc.message_en, values=text
        )
    return RedirectResponse(f"/chinh-sua/{req.id}?moi=1", status_code=303)


# --- the list and one request ----------------------------------------------------------------------------------------
@router.get("/chinh-sua")
def list_page(request: Request, who: Viewer = Depends(viewer)) -> Response:
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        rows = [view(session, r) for r in corrections.listed_for(session, user)]
    waiting = [r for r in rows if r["status"] in corrections.OPEN]
    done = [r for r in rows if r["status"] not in corrections.OPEN]
    return render(request, "corrections.html", waiting=waiting, done=done)


def _detail(request: Request, who: Viewer, correction_id: int, status: int = 200, **extra: Any) -> Response:
    with archive_of(request).sessions() as session:
        req = corrections.get_request(session, correction_id)
        user = session.merge(who.user)
        _readable(session, user, req)
        data = view(session, req)
        may_decide = req.status == "requested" and permitted(
            session, user, "correction.approve", req.document.school
        )
        may_apply = corrections.may_apply(session, user, req)
    return render(
        request, "correction.html", status_code=status, c=data, may_decide=may_decide, may_apply=may_apply,
        **extra,
    )  # fmt: skip


@router.get("/chinh-sua/{correction_id}")
def detail_page(
    request: Request, correction_id: int, moi: int | None = None, xong: str | None = None,
    who: Viewer = Depends(viewer),
) -> Response:  # fmt: skip
    return _detail(request, who, correction_id, created=moi == 1, done=xong)


@router.post("/chinh-sua/{correction_id}/quyet-dinh")
def decide(
    request: Request,
    correction_id: int,
    decision: str = Form("", max_length=10),
    note: str = Form("", max_length=1000),
    who: Viewer = Depends(form_viewer),
) -> Response:
    if decision not in ("duyet", "tu-choi"):
        return _detail(
            request, who, correction_id, 422, error="Hãy chọn Duyệt hoặc Từ chối.", error_en="Choose."
        )
    try:
        with archive_of(request).sessions() as session, session.begin():
            req = corrections.get_request(session, correction_id)
            corrections.decide(
                session, req, actor=session.merge(who.user), approve=decision == "duyet", note=note
            )
    except InvalidInput as exc:
        return _detail(request, who, correction_id, exc.status, error=exc.message_vi, error_en=exc.message_en)
    return RedirectResponse(f"/chinh-sua/{correction_id}?xong={decision}", status_code=303)


@router.post("/chinh-sua/{correction_id}/phien-ban")
async def upload_corrected(
    request: Request, correction_id: int, who: Viewer = Depends(form_viewer)
) -> Response:
    async with form_of(request) as form:
        upload = chosen_file(form)
        if upload is None:
            return await run_in_threadpool(
                _detail,
                request,
                who,
                correction_id,
                422,
                error="Chưa chọn tệp đã sửa.",
                error_en="No file chosen.",
            )
        return await run_in_threadpool(_apply, request, who, correction_id, upload)


def _apply(request: Request, who: Viewer, correction_id: int, upload: UploadFile) -> Response:
    archive = archive_of(request)
    path, sha, size = spool(archive, upload.file)
    try:
        # a biên bản whose filing is refused is recorded in the trail and shown as missing on the page
        apply_correction(
            archive,
            correction_id,
            path,
            filename=upload.filename or "",
            sha256=sha,
            size=size,
            actor=who.user,
        )
    except ArchiveError as exc:
        if isinstance(exc, AuthError) or exc.status in (403, 404):
            raise
        return _detail(
            request,
            who,
            correction_id,
            exc.status,
            error=exc.message_vi,
            error_en=exc.message_en,
            code=exc.code,
        )
    finally:
        path.unlink(missing_ok=True)
    return RedirectResponse(f"/chinh-sua/{correction_id}?xong=da-sua", status_code=303)


@router.get("/chinh-sua/{correction_id}/minh-chung/{evidence_id}")
def evidence_file(
    request: Request, correction_id: int, evidence_id: int, who: Viewer = Depends(viewer)
) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session:
        req = corrections.get_request(session, correction_id)
        user = session.merge(who.user)
        _readable(session, user, req)
        authorize(session, user, "document.download", req.document.school, document_id=req.document_id)
        found = next((e for e in req.evidence if e.id == evidence_id), None)
        if found is None:
            raise NotFound(
                "Không có tệp minh chứng này.", "No such evidence file.", code="evidence_not_found"
            )
        e, school_id = found, req.document.school_id
    content = docs.open_verified_content(
        archive, e.sha256, e.filename, e.media_type, e.size, req.document_id, school_id, who.user
    )
    headers = {"Content-Disposition": docs.content_disposition(e.filename), "Content-Length": str(e.size)}
    return StreamingResponse(content.chunks, media_type=e.media_type, headers=headers)
