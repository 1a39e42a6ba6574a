"""Student transfer on the web (/chuyen-truong): the sending school's office finds a student's records and downloads
the sealed transfer package; the receiving school's office uploads a package and gets the records filed when its
seal is in the school's sender registry (kept on this page by the principal) or matches a fingerprint typed for a
one-off partner. The rules are retention/transfer.py's, as for `hoso transfer`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from archive import documents as docs
from archive.errors import InvalidInput
from archive.models import Document, Organisation, User
from archive.permissions import school_ids_for
from hoso.web.common import Viewer, WebRoute, archive_of, error_page, form_viewer, render, viewer
from retention import transfer_senders as senders
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
        no_scope=ids == [], **_registry(request, who),
    )  # fmt: skip


def _registry(request: Request, who: Viewer) -> dict[str, Any]:
    """The sender registry of the schools this person receives for, and the schools where they may change it."""
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        receives = school_ids_for(session, user, ACTION)
        manages = school_ids_for(session, user, senders.ACTION)
        stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
        if manages is not None:
            stmt = stmt.where(Organisation.id.in_(manages))
        rows = senders.list_senders(session, receives)
        wanted = select(User.username, User.full_name).where(User.username.in_({r.added_by for r in rows}))
        names = {u: n for u, n in session.execute(wanted).all()}
        return {
            "senders": rows,
            "added_by": {u: n or u for u, n in names.items()},
            "manage_schools": [(o.code, o.name) for o in session.scalars(stmt)] if manages != [] else [],
        }


@router.post(PAGE + "/truong-gui")
async def add_sender(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in ("school", "sender_code", "sender_name", "seal")}

    def add() -> None:
        with archive_of(request).sessions() as session, session.begin():
            senders.add_sender(session, **fields, actor=who.user)

    await run_in_threadpool(add)
    return RedirectResponse(PAGE + "?da-dang-ky=1#truong-gui", status_code=303)


@router.post(PAGE + "/truong-gui/{sender_id}/xoa")
async def remove_sender(request: Request, sender_id: int, who: Viewer = Depends(form_viewer)) -> Response:
    def remove() -> None:
        with archive_of(request).sessions() as session, session.begin():
            senders.remove_sender(session, sender_id=sender_id, actor=who.user)

    await run_in_threadpool(remove)
    return RedirectResponse(PAGE + "#truong-gui", status_code=303)


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
    if not isinstance(upload, UploadFile) or not school:
        raise InvalidInput(
            "Hãy chọn tệp gói chuyển và trường nhận", "Choose the package and the receiving school"
        )
    folder = Path(tempfile.mkdtemp(prefix="hoso-transfer-", dir=archive_of(request).spool_dir))
    path = folder / "goi.zip"
    try:
        with open(path, "wb") as f:
            while chunk := await upload.read(1 << 20):
                f.write(chunk)
        done = await run_in_threadpool(
            import_transfer, archive_of(request), package=path, school=school, sender_seal_sha256=seal or None,
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
                  received=rows, sender=done.sending_school, **_registry(request, who))  # fmt: skip
