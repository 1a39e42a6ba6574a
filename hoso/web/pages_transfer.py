"""Student transfer on the web (/chuyen-truong): the sending school's office finds a student's records and downloads
the sealed transfer package; the receiving school's office uploads a package, with the sending school's registered
seal fingerprint, and gets the records filed. The rules are retention/transfer.py's, as for `hoso transfer`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from archive import documents as docs
from archive.errors import InvalidInput
from archive.models import Document, Organisation
from archive.permissions import school_ids_for
from hoso.web.common import Viewer, WebRoute, archive_of, error_page, form_viewer, render, viewer
from retention.inspection import ascii_fold
from retention.transfer import export_transfer, import_transfer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = "/chuyen-truong"
ACTION = "document.upload"


def _schools(request: Request, who: Viewer) -> tuple[list[tuple[str, str]], list[int] | None]:
    with archive_of(request).sessions() as session:
        ids = school_ids_for(session, session.merge(who.user), ACTION)
        stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
        if ids is not None:
            stmt = stmt.where(Organisation.id.in_(ids))
        return [(o.code, o.name) for o in session.scalars(stmt)], ids


@router.get(PAGE)
def page(
    request: Request,
    school: str = "",
    q: str = Query("", max_length=200),
    who: Viewer = Depends(viewer),
) -> Response:
    schools, ids = _schools(request, who)
    items: list[dict[str, Any]] = []
    if school and q.strip():
        with archive_of(request).sessions() as session:
            rows, _ = docs.list_documents(session, school=school, q=q.strip(), school_ids=ids, limit=200)
            items = [
                {"id": d.id, "title": d.title, "type": d.doc_type.name_vi, "year": d.school_year,
                 "class_name": d.class_name, "signed": bool(d.current and d.current.signed)}
                for d in rows if d.status == "active"
            ]  # fmt: skip
    signing = archive_of(request).signing
    seal = signing.seal_certificate() if signing is not None else None
    return render(
        request, "transfer.html", schools=schools, school=school, q=q, items=items, seal=seal,
        no_scope=ids == [],
    )  # fmt: skip


@router.post(PAGE + "/xuat")
async def send(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    form = await request.form()
    ticked = [v for v in form.getlist("document") if isinstance(v, str)]
    student = str(form.get("student") or "").strip()
    if not ticked or not student:
        return error_page(
            request,
            422,
            "Hãy nhập tên học sinh và đánh dấu hồ sơ cần chuyển.",
            "Name the student and tick records.",
        )
    folder = Path(tempfile.mkdtemp(prefix="hoso-transfer-", dir=archive_of(request).spool_dir))
    name = f"chuyen-truong-{ascii_fold(student)[:40] or 'hoc-sinh'}.zip"
    out = await run_in_threadpool(
        export_transfer, archive_of(request), document_ids=ticked, student=student, out=folder / name,
        actor=who.user,
    )  # fmt: skip

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    return FileResponse(out, media_type="application/zip", filename=name, background=BackgroundTask(cleanup))


@router.post(PAGE + "/nhan")
async def receive(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    form = await request.form()
    upload, school, seal = (
        form.get("package"),
        str(form.get("school") or ""),
        str(form.get("sender_seal") or ""),
    )
    if not isinstance(upload, UploadFile) or not school or not seal.strip():
        raise InvalidInput(
            "Hãy chọn tệp gói chuyển, trường nhận và mã con dấu của trường chuyển đi",
            "Choose the package, the receiving school and the sending school's seal fingerprint",
        )
    folder = Path(tempfile.mkdtemp(prefix="hoso-transfer-", dir=archive_of(request).spool_dir))
    path = folder / "goi.zip"
    try:
        with open(path, "wb") as f:
            while chunk := await upload.read(1 << 20):
                f.write(chunk)
        done = await run_in_threadpool(
            import_transfer, archive_of(request), package=path, school=school, sender_seal_sha256=seal,
            actor=who.user,
        )  # fmt: skip
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()
    with archive_of(request).sessions() as session:
        received = [session.get(Document, d) for d in done.documents]
        rows = [
            {"id": d.id, "title": d.title, "year": d.school_year, "class_name": d.class_name}
            for d in received
            if d
        ]
    schools, _ = _schools(request, who)
    return render(request, "transfer.html", schools=schools, school="", q="", items=[], seal=None, no_scope=False,
                  received=rows, sender=done.sending_school)  # fmt: skip
