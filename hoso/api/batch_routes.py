"""Batch upload (a class's exports): what the file names say, and a ZIP stored entry by entry.

The web page (hoso/web/pages_batch.py) confirms the class and type read from each name before anything is stored:
`POST /batch/names` reads loose files' names (their bytes then go one by one to POST /documents),
`POST /batch/zip/preview` lists a ZIP's entries with the same reading, and `POST /batch/zip` stores the entries with
the class and type the person confirmed, answering one JSON line per entry as each is done (a progress bar).
The ZIP is read by archive/batch_files.py, as `hoso ingest` reads it; the body is read only after authentication
(hoso/api/upload_form.py explains why).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from archive import batch_files, batch_names
from archive.batch_ingest import BatchIngest, Choice, ensure_may_upload, read_name
from archive.context import Archive
from archive.errors import InvalidInput
from archive.ingest import spool
from archive.models import DocumentType
from archive.school_year import check_school_year
from hoso.api.deps import ArchiveDep, GuardDep
from hoso.api.upload_form import FIELD_LIMITS, LABELS_VI

router = APIRouter(tags=["batch upload"])
MAX_NAMES = batch_files.MAX_ENTRIES
PLAN_BYTES = 512 * 1024  # a confirmed plan of MAX_ENTRIES names and choices


class NamesIn(BaseModel):
    names: list[str] = Field(
        max_length=MAX_NAMES, description="File names, as the person's computer has them"
    )


class NameReading(BaseModel):
    name: str = Field(description="The file name (a ZIP entry: its path inside the ZIP)")
    type: str | None = Field(
        description="Record type code read from the name; null when the name says nothing"
    )
    type_name_vi: str | None
    type_name_en: str | None
    class_name: str | None = Field(description="Class read from the name (10A1, 6A …)")


class NameReadings(BaseModel):
    files: list[NameReading]


class BatchResultLine(BaseModel):
    """One line of POST /batch/zip's answer (application/x-ndjson), written as the entry is done."""

    index: int = Field(description="1-based position of the entry in the ZIP")
    total: int
    name: str
    source: str = Field(description='"bundle.zip:folder/entry.pdf"')
    result: str = Field(description="stored | duplicate | refused")
    type_code: str | None = None
    class_name: str | None = None
    document_id: str | None = None
    sha256: str | None = None
    code: str | None = Field(None, description="A refusal's stable error code (not_pdf, active_content …)")
    message_vi: str | None = None
    message_en: str | None = None


def read_names(session: Session, names: list[str]) -> NameReadings:
    types = {t.code: t for t in session.scalars(select(DocumentType))}
    out = []
    for name in names:
        g = batch_names.guess(name)
        t = types.get(g.type_code or "")
        vi, en = (t.name_vi, t.name_en) if t else (None, None)
        out.append(
            NameReading(
                name=name, type=g.type_code, type_name_vi=vi, type_name_en=en, class_name=g.class_name
            )
        )
    return NameReadings(files=out)


@router.post("/batch/names", summary="Read record type and class from file names (nothing is stored)")
def names(body: NamesIn, archive: ArchiveDep, guard: GuardDep) -> NameReadings:
    ensure_may_upload(archive, guard.user, guard.scopes)
    with archive.sessions() as session:
        return read_names(session, [n[:255] for n in body.names])


def _zip_body(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": fields}
                }
            },
        }
    }


_ZIP_FILE = {"file": {"type": "string", "format": "binary", "description": "ZIP of a class's exports"}}


@router.post(
    "/batch/zip/preview",
    summary="A ZIP's entries with the type and class read from their names (nothing is stored)",
    openapi_extra=_zip_body(_ZIP_FILE),
)
async def zip_preview(request: Request, archive: ArchiveDep, guard: GuardDep) -> NameReadings:
    try:
        await run_in_threadpool(ensure_may_upload, archive, guard.user, guard.scopes)
        form = await request.form(max_files=1, max_fields=4, max_part_size=64 * 1024)
        upload = _zip_file(form.get("file"))
        return await run_in_threadpool(_preview, archive, upload)
    finally:
        await request.close()


def _preview(archive: Archive, upload: UploadFile) -> NameReadings:
    path, _, _ = spool(archive, upload.file)
    try:
        entries = batch_files.zip_entries(path, upload.filename or "tep.zip")
    finally:
        path.unlink(missing_ok=True)
    with archive.sessions() as session:
        return read_names(session, entries)


def _spool_zip(archive: Archive, upload: UploadFile, name: str) -> tuple[Path, int]:
    """The ZIP on disk and its number of entries; a damaged ZIP is refused before any answer line is sent."""
    path, _, _ = spool(archive, upload.file)
    try:
        return path, len(batch_files.zip_entries(path, name))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@router.post(
    "/batch/zip",
    summary="Store a ZIP's entries with the confirmed type and class; one JSON line per entry as it is done",
    response_model=None,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "application/x-ndjson: one BatchResultLine per entry",
            "content": {"application/x-ndjson": {"schema": BatchResultLine.model_json_schema()}},
        }
    },
    openapi_extra=_zip_body(
        _ZIP_FILE
        | {
            "school": {"type": "string", "maxLength": FIELD_LIMITS["school"]},
            "year": {"type": "string", "maxLength": FIELD_LIMITS["year"], "description": "e.g. 2024-2025"},
            "teacher": {
                "type": "string",
                "maxLength": FIELD_LIMITS["teacher"],
                "description": "for every entry",
            },
            "plan": {
                "type": "string",
                "description": 'JSON {"entry path": {"type": CODE, "class_name": "10A1"}}; an entry left out is '
                "stored with the type and class read from its name",
            },
        }
    ),
)
async def zip_store(request: Request, archive: ArchiveDep, guard: GuardDep) -> StreamingResponse:
    try:
        await run_in_threadpool(ensure_may_upload, archive, guard.user, guard.scopes)
        form = await request.form(max_files=1, max_fields=6, max_part_size=PLAN_BYTES)
        upload = _zip_file(form.get("file"))
        fields = {
            k: v.strip() for k in ("school", "year", "plan", "teacher") if isinstance(v := form.get(k), str)
        }
        missing = [k for k in ("school", "year") if not fields.get(k)]
        if missing:
            raise InvalidInput(
                "Thiếu: " + ", ".join(LABELS_VI[k] for k in missing), "Missing: " + ", ".join(missing)
            )
        year = check_school_year(fields["year"])
        plan = _plan(fields.get("plan") or "{}")
        name = upload.filename or "tep.zip"
        path, total = await run_in_threadpool(_spool_zip, archive, upload, name)
    finally:
        await request.close()
    teacher = fields.get("teacher") or None
    batch = BatchIngest(archive, fields["school"], year, guard.user, scopes=guard.scopes, teacher=teacher)
    lines = _store_entries(archive, batch, path, name, total, plan)
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _zip_file(value: object) -> UploadFile:
    if not isinstance(value, UploadFile) or not (value.filename or "").lower().endswith(".zip"):
        raise InvalidInput("Hãy gửi một tệp .zip", "Send a .zip file", code="not_a_zip")
    return value


def _plan(text: str) -> dict[str, dict[str, str]]:
    try:
        plan = json.loads(text)
        if isinstance(plan, dict) and all(isinstance(v, dict) for v in plan.values()):
            return {str(k): {str(a): str(b) for a, b in v.items() if b is not None} for k, v in plan.items()}
    except ValueError:
        pass
    raise InvalidInput(
        "Danh sách loại hồ sơ và lớp đã xác nhận không đọc được",
        "The confirmed plan is not valid JSON",
        code="bad_plan",
    )


def _store_entries(
    archive: Archive, batch: BatchIngest, path: Path, name: str, total: int, plan: dict[str, dict[str, str]]
) -> Iterator[str]:
    """Runs in the thread pool as the response is sent (Starlette iterates a plain generator there)."""

    def choose(item: batch_files.BatchFile) -> Choice:
        entry = item.source.split(":", 1)[1]
        kind, klass = read_name(item)
        chosen = plan.get(entry, {})
        return chosen.get("type", kind), chosen.get("class_name", klass)

    try:
        items = batch_files.expand(path, archive.spool_dir, archive.settings.max_upload_bytes, name=name)
        for index, outcome in enumerate(batch.store_each(items, choose), 1):
            line = {"index": index, "total": total} | outcome.to_dict()
            yield json.dumps(line, ensure_ascii=False) + "\n"
    finally:
        path.unlink(missing_ok=True)
