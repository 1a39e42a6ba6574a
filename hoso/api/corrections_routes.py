"""Corrections of locked records (archive/corrections.py): file a request with evidence, decide it, upload the one
corrected version it lets in (the biên bản is then filed: retention/correction_record.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from archive import corrections, finding
from archive import documents as docs
from archive.context import Archive
from archive.errors import InvalidInput
from archive.ingest import spool
from archive.permissions import authorize_scope
from hoso.api.correction_schemas import CorrectionOut, DecisionIn
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from hoso.api.upload_form import chosen_file, chosen_files, form_of, form_texts, spooled_files
from retention.correction_record import apply_correction

router = APIRouter(tags=["corrections"])
MULTIPART = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["wrong", "should_be", "why", "evidence"],
    "properties": {
        "wrong": {"type": "string"}, "should_be": {"type": "string"}, "why": {"type": "string"},
        "evidence": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}}}}}  # fmt: skip
VERSION_FORM = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}},
}}}}}  # fmt: skip


def _one(archive: Archive, guard: Guard, correction_id: int) -> CorrectionOut:
    with archive.sessions() as session:
        req = corrections.get_request(session, correction_id)
        user = guard.check(session, "document.read", req.document.school, document_id=req.document_id)
        finding.ensure_visible(session, user, req.document)
        return CorrectionOut.of(session, req)


@router.get("/corrections", summary="Correction requests I filed, may decide or may apply")
def list_corrections(
    archive: ArchiveDep,
    guard: GuardDep,
    status: Annotated[str | None, Query(pattern="^(requested|approved|refused|applied)$")] = None,
) -> list[CorrectionOut]:
    with archive.sessions() as session:
        user = session.merge(guard.user)
        return [CorrectionOut.of(session, r) for r in corrections.listed_for(session, user, status=status)]


@router.get("/corrections/{correction_id}", summary="One correction request")
def get_correction(correction_id: int, archive: ArchiveDep, guard: GuardDep) -> CorrectionOut:
    return _one(archive, guard, correction_id)


@router.post(
    "/documents/{doc_id}/corrections",
    status_code=201,
    summary="Request a correction of a locked record, with evidence files (CV 1370 Phụ lục II.2)",
    openapi_extra=MULTIPART,
)
async def request_correction(
    doc_id: str, request: Request, archive: ArchiveDep, guard: GuardDep
) -> CorrectionOut:
    await run_in_threadpool(_token_may, archive, guard, "correction.request")
    async with form_of(request) as form:
        text = form_texts(form, "wrong", "should_be", "why")
        uploads = chosen_files(form, "evidence")
        return await run_in_threadpool(_request, archive, guard, doc_id, text, uploads)


def _request(
    archive: Archive, guard: Guard, doc_id: str, text: dict[str, str], uploads: list[UploadFile]
) -> CorrectionOut:
    with archive.sessions() as session:
        doc = docs.get_document(session, doc_id)
        user = guard.check(session, "correction.request", doc.school, document_id=doc.id)
        session.expunge(user)
    with spooled_files(archive, uploads, corrections.MAX_EVIDENCE_FILES) as files:
        req = corrections.file_request(archive, doc_id, actor=user, evidence=files, **text)
    return _one(archive, guard, req.id)


@router.post("/corrections/{correction_id}/decision", summary="The principal approves or refuses")
def decide(correction_id: int, body: DecisionIn, archive: ArchiveDep, guard: GuardDep) -> CorrectionOut:
    _token_may(archive, guard, "correction.approve")
    with archive.sessions() as session, session.begin():
        req = corrections.get_request(session, correction_id)
        user = guard.check(session, "correction.approve", req.document.school, document_id=req.document_id)
        corrections.decide(session, req, actor=user, approve=body.approve, note=body.note)
    return _one(archive, guard, correction_id)


@router.post(
    "/corrections/{correction_id}/version",
    status_code=201,
    summary="Upload the one corrected version an approved request lets in; the record is locked again at once",
    openapi_extra=VERSION_FORM,
)
async def upload_version(
    correction_id: int, request: Request, archive: ArchiveDep, guard: GuardDep
) -> CorrectionOut:
    # the corrected version is part of the procedure the requester started (or the administrator for them)
    await run_in_threadpool(_token_may, archive, guard, "correction.request")
    async with form_of(request) as form:
        upload = chosen_file(form)
        if upload is None:
            raise InvalidInput(
                "Thiếu tệp đã sửa (file)", "The corrected file is missing (file)", code="file_required"
            )
        return await run_in_threadpool(_apply, archive, guard, correction_id, upload)


def _token_may(archive: Archive, guard: Guard, action: str) -> None:
    """A token whose scopes exclude the action is refused before any lookup or body is read."""
    with archive.sessions() as session, session.begin():
        authorize_scope(session, session.merge(guard.user), action, guard.scopes)


def _apply(archive: Archive, guard: Guard, correction_id: int, upload: UploadFile) -> CorrectionOut:
    with archive.sessions() as session:
        req = corrections.get_request(session, correction_id)
        user = guard.check(session, "document.read", req.document.school, document_id=req.document_id)
        session.expunge(user)
    path, sha, size = spool(archive, upload.file)
    try:
        apply_correction(
            archive, correction_id, path, filename=upload.filename or "", sha256=sha, size=size, actor=user
        )
    finally:
        path.unlink(missing_ok=True)
    return _one(archive, guard, correction_id)
