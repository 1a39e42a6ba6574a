"""The upload form: the same permission rule and the same ingest path as POST /api/v1/documents.

A refused file (not_pdf, encrypted_pdf, active_content, too_large, unsupported_type …) re-renders the form with every
value the person typed and a Vietnamese explanation; nothing is stored for a refused file (ingest refuses before
writing any copy)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import ArchiveError, AuthError, PermissionDenied
from archive.ingest import ingest_stream, resolve_school_and_type
from archive.models import DocumentType, Organisation
from archive.permissions import authorize, school_ids_by_action, upload_action
from archive.school_year import current_school_year
from hoso.api.upload_form import UploadForm, read_upload_form, typed_values
from hoso.web.common import UPLOAD_ACTIONS, Viewer, WebRoute, archive_of, form_viewer, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FIELDS = ("school", "type", "year", "title", "class_name", "subject", "teacher")


def upload_choices(session: Session, who: Viewer) -> dict[str, Any]:
    user = session.merge(who.user)
    ids: set[int] = set()
    everywhere = False
    reach = school_ids_by_action(session, user, UPLOAD_ACTIONS)
    for found in reach.values():
        if found is None:
            everywhere = True
        else:
            ids.update(found)
    stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
    if not everywhere:
        stmt = stmt.where(Organisation.id.in_(ids))
    # only the types this person may upload somewhere (a teacher sees lesson plans, not học bạ)
    types = [
        t
        for t in session.scalars(select(DocumentType).order_by(DocumentType.name_vi))
        if reach[upload_action(t.kept_by)] != []
    ]
    return {
        "schools": [(o.code, o.name) for o in session.scalars(stmt)],
        "types": [(t.code, t.name_vi, t.name_en) for t in types],
        # a teacher uploads their own records: the teacher field starts with their name from the account
        "own_name": (user.full_name or "") if reach["document.upload_own"] != [] else "",
    }


def _no_upload_right() -> PermissionDenied:
    return PermissionDenied(
        "Tài khoản của bạn không có quyền tải lên hồ sơ (ví dụ: thanh tra chỉ được xem và tải về).",
        "Your account may not upload records (inspectors may only view and download).",
    )


def _form(
    request: Request,
    who: Viewer,
    values: dict[str, str],
    status: int = 200,
    *,
    prefill_teacher: bool = False,
    **extra: Any,
) -> Response:
    with archive_of(request).sessions() as session:
        choices = upload_choices(session, who)
    if prefill_teacher and choices["own_name"]:
        values = values | {"teacher": choices["own_name"]}
    return render(request, "upload.html", status_code=status, values=values, **choices, **extra)


@router.get("/tai-len")
def upload_form(request: Request, who: Viewer = Depends(viewer)) -> Response:
    if not who.can_upload:
        raise _no_upload_right()
    return _form(request, who, {"year": current_school_year(date.today())}, prefill_teacher=True)


@router.post("/tai-len")
async def upload_submit(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    # form_viewer has checked the session and the CSRF field before the file is read (see hoso/api/upload_form.py)
    if not who.can_upload:
        raise _no_upload_right()
    try:
        try:
            form = await read_upload_form(request, require_file=False)
        except ArchiveError as exc:
            # the refused form again, with what the person typed (the body is parsed and cached by now)
            typed = typed_values(await request.form())
            return await run_in_threadpool(
                _form,
                request,
                who,
                {name: typed.get(name, "") for name in FIELDS},
                exc.status,
                error=exc.message_vi,
                error_en=exc.message_en,
                code=exc.code,
            )
        return await run_in_threadpool(_store, request, who, form)
    finally:
        await request.close()


def _store(request: Request, who: Viewer, form: UploadForm) -> Response:
    values = {name: form.fields.get(name, "") for name in FIELDS}
    file = form.file
    if file is None or not file.filename:
        return _form(request, who, values, 422, error="Chưa chọn tệp để tải lên.", code="missing_file")
    archive = archive_of(request)
    school, type_code = values["school"], values["type"]
    try:
        with archive.sessions() as session:
            # whose record it is decides the right needed: school, professional group, or a teacher's own
            org, dtype = resolve_school_and_type(session, school, type_code)
            authorize(session, session.merge(who.user), upload_action(dtype.kept_by), org)
        result = ingest_stream(
            archive, file.file, filename=file.filename, school=school, type_code=type_code, year=values["year"],
            title=values["title"] or None, class_name=values["class_name"] or None,
            subject=values["subject"] or None, teacher=values["teacher"] or None, actor=who.user,
        )  # fmt: skip
    except ArchiveError as exc:
        if isinstance(exc, AuthError) and exc.status == 401:
            raise  # the session ended meanwhile: WebRoute sends the person to the login page
        return _form(
            request, who, values, exc.status, error=exc.message_vi, error_en=exc.message_en, code=exc.code,
            filename=file.filename,
        )  # fmt: skip
    flag = "moi=1" if result.created else "moi=0"
    return RedirectResponse(f"/ho-so/{result.document.id}?{flag}", status_code=303)
