"""Inspection packages on the web (Vietnamese first): pick schools, years, types and classes, see the matching
documents, untick what is not wanted, make the package, then download it (resumable) or have it e-mailed as
numbered attachments. The rules are retention/inspection.py's, the same as the API's and the CLI's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from archive.errors import ArchiveError
from archive.models import Document, Organisation
from archive.permissions import school_ids_for
from hoso.api.inspection import package_response
from hoso.web.common import Viewer, WebRoute, archive_of, error_page, form_viewer, render, viewer
from hoso.web.pages_documents import document_types, readable_schools
from retention import inspection
from retention.inspection_mail import deliver_by_email

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = "/goi-kiem-tra"
LIST_LIMIT = 500  # documents shown for ticking; a larger selection is made by its filters alone


def _choices(session: Session, ids: list[int] | None) -> dict[str, Any]:
    schools = readable_schools(session, ids)
    years_stmt = select(Document.school_year).distinct().order_by(Document.school_year.desc())
    classes_stmt = select(Document.class_name).distinct().where(Document.class_name.is_not(None))
    if ids is not None:
        years_stmt = years_stmt.where(Document.school_id.in_(ids))
        classes_stmt = classes_stmt.where(Document.school_id.in_(ids))
    return {
        "schools": [(o.code, o.name, o.level or "") for o in schools],
        "years": list(session.scalars(years_stmt)),
        "types": [(t.code, t.name_vi) for t in document_types(session)],
        "classes": sorted(c for c in session.scalars(classes_stmt) if c),
    }


@router.get(PAGE)
def choose(
    request: Request,
    school: list[str] = Query([]),
    year: list[str] = Query([]),
    type_code: list[str] = Query([], alias="type"),
    class_name: list[str] = Query([], alias="class"),
    who: Viewer = Depends(viewer),
) -> Response:
    selection = inspection.Selection.of(schools=school, years=year, types=type_code, classes=class_name)
    items: list[dict[str, Any]] = []
    found = 0
    error: ArchiveError | None = None
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        ids = school_ids_for(session, user, inspection.ACTION)
        choices = _choices(session, ids)
        if selection.schools:
            try:
                docs = inspection.select_documents(session, user, selection)
            except ArchiveError as exc:
                if exc.status == 403:
                    raise
                error = exc
                docs = []
            found, items = len(docs), [_row(d) for d in docs[:LIST_LIMIT]]
        packages = inspection.list_packages(session, user, limit=20)
    return render(
        request, "inspection.html", selection=selection, items=items, found=found, more=max(0, found - LIST_LIMIT),
        packages=packages, no_scope=ids == [], error=error, **choices,
    )  # fmt: skip


def _row(d: Document) -> dict[str, Any]:
    v = d.current
    assert v is not None
    return {
        "id": d.id,
        "title": d.title,
        "school": d.school.code,
        "year": d.school_year,
        "type_name": d.doc_type.name_vi,
        "class_name": d.class_name,
        "size": v.size,
        "signed": v.signed,
        "name": inspection.entry_name(
            d.school.code, d.school_year, d.type_code, d.class_name, d.title, "pdf"
        ),
    }


@router.post(PAGE)
async def make(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    form = await request.form()

    def values(name: str) -> list[str]:
        return [v for v in form.getlist(name) if isinstance(v, str)]

    ticked = values("document")
    if not ticked:
        return error_page(
            request, 422, "Chưa đánh dấu hồ sơ nào để đưa vào gói.", "No document was ticked for the package."
        )
    selection = inspection.Selection.of(
        schools=values("school"),
        years=values("year"),
        types=values("type"),
        classes=values("class"),
        documents=ticked,
    )
    pkg = await run_in_threadpool(
        inspection.create_package, archive_of(request), selection=selection, actor=who.user
    )
    return RedirectResponse(f"{PAGE}/{pkg.id}?moi=1", status_code=303)


@router.get(PAGE + "/{package_id}")
def package_page(
    request: Request,
    package_id: str,
    moi: int | None = Query(None),
    da_gui: int | None = Query(None, ge=0),
    who: Viewer = Depends(viewer),
) -> Response:
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        pkg = inspection.summary_of(inspection.get_package(session, user, package_id))
        email = user.email
        names = {
            o.code: o.name for o in session.scalars(select(Organisation).where(Organisation.kind == "truong"))
        }
    mail_ready = bool(archive_of(request).settings.smtp_host)
    return render(
        request, "inspection_package.html", pkg=pkg, created=moi == 1, sent=da_gui, email=email,
        mail_ready=mail_ready, school_names=names,
        max_mail=archive_of(request).settings.inspection_mail_max_bytes,
    )  # fmt: skip


@router.get(PAGE + "/{package_id}/tai-ve")
def download(request: Request, package_id: str, who: Viewer = Depends(viewer)) -> Response:
    return package_response(
        archive_of(request),
        who.user,
        package_id,
        request.headers.get("range"),
        request.headers.get("if-range"),
    )


@router.post(PAGE + "/{package_id}/gui-email")
def send(request: Request, package_id: str, who: Viewer = Depends(form_viewer)) -> Response:
    delivery = deliver_by_email(archive_of(request), package_id, actor=who.user)
    return RedirectResponse(f"{PAGE}/{package_id}?da_gui={delivery.parts}", status_code=303)
