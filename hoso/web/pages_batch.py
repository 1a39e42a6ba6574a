"""The batch upload page ("Tải lên nhiều tệp"): many files or one ZIP of a class's exports.

With JavaScript (static/batch-upload.js) the person drops the files, sees the type and class read from each name
(POST /api/v1/batch/names, /batch/zip/preview), adjusts them, and confirms; the files then go one by one to
POST /api/v1/documents (a ZIP as a whole to /batch/zip, answering entry by entry) under a progress bar.
Without JavaScript the same form is a plain multi-file form: its type and class fields, when filled, apply to every
file, and otherwise each file's name decides; the results come back as a page. Either way every file gets its own
outcome — stored, already there, or refused with the Vietnamese reason — and nothing is stored for a refused one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from starlette.datastructures import UploadFile

from archive import batch_files
from archive.batch_ingest import DUPLICATE, REFUSED, STORED, BatchIngest, BatchOutcome, Choice, read_name
from archive.context import Archive
from archive.errors import ArchiveError, InvalidInput
from archive.ingest import spool
from archive.models import DocumentType
from archive.school_year import check_school_year, current_school_year
from hoso.api.upload_form import FIELD_LIMITS
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer
from hoso.web.pages_upload import upload_choices

router = APIRouter(route_class=WebRoute, include_in_schema=False)
ACCEPT = ".pdf,.doc,.docx,.xls,.xlsx,.odt,.ods,.xml,.zip"
MAX_FILES = batch_files.MAX_ENTRIES


def _page(request: Request, who: Viewer, values: dict[str, str], status: int = 200, **extra: Any) -> Response:
    with archive_of(request).sessions() as session:
        choices = upload_choices(session, who)
        type_names = {t.code: t.name_vi for t in session.scalars(select(DocumentType))}
    if not who.can_upload:
        choices["schools"] = []
    return render(
        request, "batch_upload.html", status_code=status, values=values, accept=ACCEPT, type_names=type_names,
        **choices, **extra,
    )  # fmt: skip


@router.get("/tai-len-nhieu")
def batch_form(request: Request, who: Viewer = Depends(viewer)) -> Response:
    return _page(request, who, {"year": current_school_year(date.today())})


@router.post("/tai-len-nhieu")
async def batch_submit(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    """The page without JavaScript: every file of the form (a ZIP unpacked), each with its own result."""
    try:
        form = await request.form(max_files=MAX_FILES)
        values = {k: v.strip()[: FIELD_LIMITS[k]] for k in FIELD_LIMITS if isinstance(v := form.get(k), str)}
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not uploads:
            return _page(request, who, values, 422, error="Chưa chọn tệp để tải lên.")
        try:
            outcomes = await run_in_threadpool(_store_all, archive_of(request), who, values, uploads)
        except ArchiveError as exc:  # the batch as a whole (school, year): nothing was stored
            if exc.status == 401:
                raise
            return _page(request, who, values, exc.status, error=exc.message_vi, error_en=exc.message_en)
        return _page(request, who, values, results=outcomes, counts=_counts(outcomes))
    finally:
        await request.close()


def _store_all(
    archive: Archive, who: Viewer, values: dict[str, str], uploads: list[UploadFile]
) -> list[BatchOutcome]:
    missing = [label for key, label in (("school", "Trường"), ("year", "Năm học")) if not values.get(key)]
    if missing:
        raise InvalidInput("Thiếu: " + ", ".join(missing), "Missing: school or year")
    year = check_school_year(values["year"])
    batch = BatchIngest(archive, values["school"], year, who.user, teacher=values.get("teacher") or None)

    def choose(item: batch_files.BatchFile) -> Choice:
        kind, klass = read_name(item)
        return values.get("type") or kind, values.get("class_name") or klass

    out: list[BatchOutcome] = []
    for upload in uploads:
        name = upload.filename or "tep"
        try:
            path, _, _ = spool(archive, upload.file)
        except ArchiveError as exc:
            out.append(_refused(name, exc))
            continue
        try:
            out.extend(
                batch.store_each(
                    batch_files.expand(path, archive.spool_dir, archive.settings.max_upload_bytes, name=name),
                    choose,
                )
            )
        except ArchiveError as exc:  # a damaged ZIP, or one with too many entries
            out.append(_refused(name, exc))
        finally:
            path.unlink(missing_ok=True)
    return out


def _refused(name: str, exc: ArchiveError) -> BatchOutcome:
    return BatchOutcome(
        name, name, REFUSED, None, None, code=exc.code, message_vi=exc.message_vi, message_en=exc.message_en
    )


def _counts(outcomes: list[BatchOutcome]) -> dict[str, int]:
    return {r: sum(1 for o in outcomes if o.result == r) for r in (STORED, DUPLICATE, REFUSED)}
