"""Mistakes fixed before the lock, for machines (the web pages are hoso/web/pages_record_changes.py): edit a record's
details, replace its file with a new version, withdraw it with a reason. archive/record_changes.py holds the rules —
who (the uploader or the school office), when (active, year and type not locked) — and writes the history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from archive import documents as docs
from archive import record_changes
from archive.context import Archive
from archive.errors import InvalidInput
from archive.finding import ensure_visible
from archive.ingest import spool
from archive.models import User
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from hoso.api.schemas import DocumentOut
from hoso.api.upload_form import chosen_file, form_of, form_texts

router = APIRouter(tags=["documents"])
REASON = Field(
    default="", max_length=record_changes.REASON_MAX, description="Why (kept in the change history)"
)


class DetailsIn(BaseModel):
    """Only the fields sent are changed; an empty string clears an optional field."""

    title: str | None = Field(default=None, max_length=500)
    class_name: str | None = Field(default=None, max_length=50)
    subject: str | None = Field(default=None, max_length=100)
    teacher: str | None = Field(default=None, max_length=200)
    type: str | None = Field(
        default=None, max_length=64, description="Document type code: move it to another type"
    )
    reason: str = REASON


class WithdrawIn(BaseModel):
    reason: str = Field(
        default="", max_length=record_changes.REASON_MAX, description="Why it is withdrawn (required)"
    )


def _full(archive: Archive, doc_id: str) -> DocumentOut:
    with archive.sessions() as session:
        return DocumentOut.full(session, docs.get_document(session, doc_id))


def _allowed(archive: Archive, guard: Guard, doc_id: str) -> User:
    """The caller may see the record and change it now (refusals recorded): before any body is read."""
    with archive.sessions() as session:
        doc = docs.get_document(session, doc_id)
        user = guard.check(session, "document.read", doc.school, document_id=doc.id)
        ensure_visible(session, user, doc)
        record_changes.check_change(session, user, doc)
        session.expunge(user)
        return user


@router.patch("/documents/{doc_id}", summary="Edit a record's details before the lock (history kept)")
def edit_details(doc_id: str, body: DetailsIn, archive: ArchiveDep, guard: GuardDep) -> DocumentOut:
    values = body.model_dump(exclude_unset=True, exclude={"reason"})
    if "type" in values:
        values["type_code"] = values.pop("type")
    with archive.sessions() as session, session.begin():
        doc = docs.get_document(session, doc_id)
        user = guard.check(session, "document.read", doc.school, document_id=doc.id)
        ensure_visible(session, user, doc)
        record_changes.edit_details(session, doc, actor=user, values=values, reason=body.reason)
    return _full(archive, doc_id)


@router.post(
    "/documents/{doc_id}/versions",
    status_code=201,
    summary="Replace a record's file before the lock: the file becomes its next version (the earlier ones stay)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "reason"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "The corrected file",
                            },
                            "reason": {
                                "type": "string",
                                "maxLength": record_changes.REASON_MAX,
                                "description": "Why it is replaced",
                            },  # fmt: skip
                        },
                    }
                }
            },
        }
    },
)
async def replace_file(doc_id: str, request: Request, archive: ArchiveDep, guard: GuardDep) -> DocumentOut:
    # like an upload: the caller is authenticated and allowed before the body is read (hoso/api/upload_form.py)
    user = await run_in_threadpool(_allowed, archive, guard, doc_id)
    async with form_of(request, max_files=1, max_fields=4, max_part_size=64 * 1024) as form:
        upload = chosen_file(form)
        if upload is None:
            raise InvalidInput("Chưa gửi tệp để thay.", "No file sent.", code="file_required")
        await run_in_threadpool(_replace, archive, doc_id, upload, form_texts(form, "reason")["reason"], user)
    return await run_in_threadpool(_full, archive, doc_id)


def _replace(archive: Archive, doc_id: str, upload: UploadFile, reason: str, user: User) -> None:
    path, sha, size = spool(archive, upload.file)
    try:
        record_changes.replace_file(
            archive,
            doc_id,
            path,
            filename=upload.filename or "",
            sha256=sha,
            size=size,
            reason=reason,
            actor=user,
        )
    finally:
        path.unlink(missing_ok=True)


@router.post(
    "/documents/{doc_id}/withdraw", summary="Withdraw a record before the lock (kept, hidden from lists)"
)
def withdraw(doc_id: str, body: WithdrawIn, archive: ArchiveDep, guard: GuardDep) -> DocumentOut:
    with archive.sessions() as session, session.begin():
        doc = docs.get_document(session, doc_id)
        user = guard.check(session, "document.read", doc.school, document_id=doc.id)
        ensure_visible(session, user, doc)
        record_changes.withdraw(session, doc, actor=user, reason=body.reason)
    return _full(archive, doc_id)
