"""Documents: the list (only what the viewer may read), one document, its validation report, the school seal.

Each check is the API's: school_ids_for("document.read") for lists, authorize() for one document and each action,
so a page never shows what GET /api/v1/documents would refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import chains, conversion, corrections, finding, locks, record_changes, renditions, signatures
from archive import documents as docs
from archive.models import Document, DocumentType, Event, Organisation, User
from archive.permissions import authorize, permitted
from hoso.api.schemas import DocumentOut, DocumentSummary
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, pager, render, viewer
from hoso.web.pages_corrections import view as correction_view
from hoso.web.pages_signing import may_sign_personally
from hoso.web.seal import carries_seal

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 20
DOC_ACTIONS = ("document.download", "document.validate", "document.seal")


def readable_schools(session: Session, ids: list[int] | None) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.kind == "truong").order_by(Organisation.code)
    if ids is not None:
        stmt = stmt.where(Organisation.id.in_(ids))
    return list(session.scalars(stmt))


def document_types(session: Session) -> list[DocumentType]:
    return list(session.scalars(select(DocumentType).order_by(DocumentType.name_vi)))


def school_years(session: Session, ids: list[int] | None) -> list[str]:
    stmt = select(Document.school_year).distinct().order_by(Document.school_year.desc())
    if ids is not None:
        stmt = stmt.where(Document.school_id.in_(ids))
    return list(session.scalars(stmt))


# the list's columns: (sort key, Vietnamese heading, English); "Lớp / môn" sorts by class
COLUMNS = (
    ("title", "Tên hồ sơ", "Title"),
    ("type", "Loại", "Type"),
    ("school", "Trường", "School"),
    ("year", "Năm học", "Year"),
    ("class", "Lớp / môn", "Class"),
    ("signed", "Ký số", "Signed"),
    ("created", "Ngày tiếp nhận", "Received"),
)
LOCKED_CHOICES = {"": None, "1": True, "0": False}


@router.get("/ho-so")
def document_list(
    request: Request,
    school: str = "",
    type_code: str = Query("", alias="type"),
    year: str = "",
    q: str = Query("", max_length=200),
    status: str = Query("", pattern="^(|active|withdrawn|disposed)$"),
    mine: str = Query("", pattern="^(|1)$"),
    locked: str = Query("", pattern="^(|0|1)$"),
    damaged: str = Query("", pattern="^(|1)$"),
    awaiting: str = Query("", pattern="^(|1)$"),
    sort: str = Query("created", pattern="^(" + "|".join(finding.SORT_KEYS) + ")$"),
    order: str = Query("desc", pattern="^(asc|desc)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    who: Viewer = Depends(viewer),
) -> Response:
    filters = {
        "school": school, "type": type_code, "year": year, "q": q.strip(), "status": status, "mine": mine,
        "locked": locked, "damaged": damaged, "awaiting": awaiting, "sort": sort, "order": order,
    }  # fmt: skip
    wanted = finding.DocumentFilter(
        school=school or None, type_code=type_code or None, year=year or None, q=filters["q"] or None,
        status=status or None, mine=mine == "1", locked=LOCKED_CHOICES[locked], damaged=True if damaged else None,
        awaiting_me=awaiting == "1", sort=sort, descending=order == "desc",
    )  # fmt: skip
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        ids = finding.visible_school_ids(session, user, wanted)
        rows, total = finding.find_documents(
            session, wanted, school_ids=ids, user_id=user.id, user_name=user.full_name or None,
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
        locked_now = finding.locked_keys(session, rows)
        damaged_now = finding.damaged_ids(session, rows)
        items = [
            summary.model_dump()
            | {
                "locked": (d.school_id, d.type_code, d.school_year) in locked_now,
                "damaged": d.id in damaged_now,
            }
            for d, summary in zip(rows, DocumentSummary.page(session, rows), strict=True)
        ]
        reads = finding.visible_school_ids(session, user, finding.DocumentFilter())
        schools = [(o.code, o.name) for o in readable_schools(session, reads)]
        types = [(t.code, t.name_vi) for t in document_types(session)]
        years = school_years(session, reads)
        keeps_records = (
            finding.visible_school_ids(session, user, finding.DocumentFilter(status="withdrawn")) != []
        )

    def sort_url(key: str) -> str:
        # the same heading again turns the order round; a new one starts A→Z (dates and signatures newest first)
        if sort == key:
            flip = "asc" if order == "desc" else "desc"
        else:
            flip = "desc" if key in ("created", "signed") else "asc"
        kept = {k: v for k, v in filters.items() if v and k not in ("sort", "order")}
        return "/ho-so?" + urlencode(kept | {"sort": key, "order": flip})

    return render(
        request, "documents.html", items=items, total=min(total, finding.COUNT_CAP),
        total_capped=total > finding.COUNT_CAP,
        **pager("/ho-so", filters, page, total, PAGE_SIZE, more=total > finding.COUNT_CAP and len(rows) == PAGE_SIZE),
        filters=filters, schools=schools, types=types, years=years, no_scope=reads == [], columns=COLUMNS,
        sort_url=sort_url, keeps_records=keeps_records, awaiting_offered=True,
    )  # fmt: skip


def _name(user: User | None) -> str:
    return (user.full_name or user.username) if user is not None else "hệ thống"


def _shown(session: Session, field: str, value: str | None) -> str:
    """A changed value as a person reads it: a type by its name, an empty field as a dash."""
    if value and field == "type_code":
        t = session.get(DocumentType, value)
        return t.name_vi if t is not None else value
    return value or "—"


def _withdrawal(session: Session, doc: Document) -> dict[str, Any]:
    ev = session.scalar(
        select(Event)
        .where(Event.document_id == doc.id, Event.action == "document.withdraw")
        .order_by(Event.id.desc())
        .limit(1)
    )
    by = session.get(User, ev.actor_id) if ev is not None and ev.actor_id is not None else None
    return {
        "at": ev.occurred_at if ev else None,
        "by": _name(by) if by else (ev.actor if ev else ""),
        "reason": (ev.detail or {}).get("reason", "") if ev else "",
    }


def _may(session: Session, user: User, doc: Document) -> dict[str, bool]:
    return {action.split(".")[1]: permitted(session, user, action, doc.school) for action in DOC_ACTIONS}


@router.get("/ho-so/{doc_id}")
def document_page(
    request: Request,
    doc_id: str,
    da_ky: int | None = Query(None, ge=1),
    moi: int | None = Query(None),
    ca_nhan: int | None = Query(None),
    da_sua: int | None = Query(None),
    thay: int | None = Query(None, ge=1),
    da_rut: int | None = Query(None),
    who: Viewer = Depends(viewer),
) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session, session.begin():
        doc = docs.get_document(session, doc_id)
        user = session.merge(who.user)
        authorize(session, user, "document.read", doc.school, document_id=doc.id)
        finding.ensure_visible(session, user, doc)
        changes = [
            {"at": c.changed_at, "by": _name(c.changed_by), "field": record_changes.LABELS_VI.get(c.field, c.field),
             "old": _shown(session, c.field, c.old_value), "new": _shown(session, c.field, c.new_value),
             "reason": c.reason}
            for c in record_changes.history(session, doc.id)
        ]  # fmt: skip
        withdrawal = _withdrawal(session, doc) if doc.status == "withdrawn" else None
        # people by their full names (the API answers usernames, which a page does not show)
        names = {
            u.username: _name(u)
            for u in [doc.created_by, *(v.created_by for v in doc.versions)]
            if u is not None
        }
        data = DocumentOut.full(session, doc).model_dump()
        may = _may(session, user, doc)
        may["sign_personal"] = may_sign_personally(session, user, doc)
        turn = chains.turn_of(session, doc, user)
        seal_turn = chains.turn_of(session, doc, user, seal=True) if may["seal"] else "not_a_signer"
        first = doc.versions[0].id if doc.versions else None
        source = renditions.originals_of(session, [first]).get(first) if first is not None else None
        original = {"filename": source.filename, "ext": Path(source.filename).suffix} if source else None
        lock = locks.find_lock(session, doc.school_id, doc.type_code, doc.school_year)
        may["change"] = (
            doc.status == "active" and lock is None and record_changes.may_change(session, user, doc)
        )
        may["correct"] = lock is not None and corrections.may_request(session, user, doc)
        fixes = [correction_view(session, c) for c in corrections.of_document(session, doc.id)]
        fixed_by = corrections.by_record_document(session, doc.id)
        locked = None if lock is None else {
            "at": lock.locked_at, "by": lock.locked_by.full_name or lock.locked_by.username if lock.locked_by else None,
            "instructed_by": (lock.instructed_by.full_name or lock.instructed_by.username) if lock.instructed_by else None,
        }  # fmt: skip
    versions = data.get("versions", [])
    signed_now = next((v for v in versions if v["number"] == da_ky), None)
    current = next((v for v in versions if v["number"] == data["version"]), None)
    signable = data["media_type"] == "application/pdf" and data["status"] == "active"
    # once the current version carries the school seal, a second seal is pointless: say so instead of offering it
    sealed = signable and may["seal"] and carries_seal(archive, (current or {}).get("validation"))
    sign_open = locked is None or locks.passes_lock("document.sign")  # a lock forbids it: not offered
    # every copy of the current file damaged: nothing can be served or signed until fixity repairs one
    states = [r["state"] for r in data.get("replicas", [])]
    all_damaged = bool(states) and all(x in finding.DAMAGED_STATES for x in states)
    if all_damaged:
        may["download"] = may["validate"] = sign_open = False
    # with a signing chain, only the step that waits is offered; without one, the plain rule as before
    chained = turn != "no_chain"
    can_seal = may["seal"] and signable and sign_open and (seal_turn == "mine" if chained else not sealed)
    can_sign = may["sign_personal"] and signable and sign_open and (turn == "mine" if chained else True)
    return render(
        request, "document.html", doc=data, may=may, signed_now=signed_now, created=moi, personal=ca_nhan == 1,
        can_seal=can_seal, sealed=sealed and not can_seal, can_sign_personal=can_sign, turn=turn,
        seal_turn=seal_turn, returned=request.query_params.get("tra_lai") == "1",
        original=original, not_converted=data["media_type"] in conversion.CONVERTIBLE,
        locked=locked, changes=changes, withdrawal=withdrawal, names=names, all_damaged=all_damaged,
        edited=da_sua == 1, replaced=thay, withdrawn_now=da_rut == 1, corrections=fixes,
        record_of=fixed_by.id if fixed_by else None,
    )  # fmt: skip


@router.post("/ho-so/{doc_id}/tra-lai")
def return_document(
    request: Request, doc_id: str, reason: str = Form("", max_length=1000), who: Viewer = Depends(form_viewer)
) -> Response:
    """The signer whose turn it is sends the record back to its uploader, with a reason."""
    archive = archive_of(request)
    with archive.sessions() as session, session.begin():
        doc = docs.get_document(session, doc_id)
        user = session.merge(who.user)
        authorize(session, user, "document.read", doc.school, document_id=doc.id)
        chains.return_record(session, doc, user, reason)
    return RedirectResponse(f"/ho-so/{doc_id}?tra_lai=1", status_code=303)


@router.get("/ho-so/{doc_id}/tai-ve")
def download(
    request: Request, doc_id: str, version: int | None = Query(None, ge=1), who: Viewer = Depends(viewer)
) -> Response:
    """The file as an attachment, like GET /api/v1/documents/{id}/content; a failure (no intact copy, a disposed
    record …) is a Vietnamese page, not the API's JSON."""
    archive = archive_of(request)
    with archive.sessions() as session:
        doc = docs.get_document_to_serve(session, doc_id)
        user = session.merge(who.user)
        authorize(session, user, "document.download", doc.school, document_id=doc.id)
        finding.ensure_visible(session, user, doc)
        source = docs.content_source(session, doc.id, version)  # in this session: no second lookup
    content = docs.open_content(archive, doc_id, actor=who.user, source=source)
    headers = {
        "Content-Disposition": docs.content_disposition(content.download_name),
        "Content-Length": str(content.size),
        "X-Content-SHA256": content.sha256,
        "Cache-Control": "private, no-store",
    }
    if (target := docs.accel_redirect(archive.settings, content)) is not None:
        del headers["Content-Length"]  # the reverse proxy sends the file and its length
        return Response(media_type=content.media_type, headers=headers | {"X-Accel-Redirect": target})
    return StreamingResponse(content.chunks, media_type=content.media_type, headers=headers)


@router.post("/ho-so/{doc_id}/ky-so")
def seal(request: Request, doc_id: str, who: Viewer = Depends(form_viewer)) -> Response:
    """The school's seal signature with the organisation's server-held key (never a person's key)."""
    archive = archive_of(request)
    with archive.sessions() as session, session.begin():
        doc = docs.get_document(session, doc_id)
        authorize(session, session.merge(who.user), "document.seal", doc.school, document_id=doc.id)
    version = signatures.sign_document(
        archive, doc_id, actor=who.user, reason="Ký số bằng con dấu của trường / school seal"
    )
    return RedirectResponse(f"/ho-so/{doc_id}?da_ky={version.number}", status_code=303)


@router.get("/ho-so/{doc_id}/kiem-tra")
def validation_page(
    request: Request,
    doc_id: str,
    version: int | None = Query(None, ge=1),
    who: Viewer = Depends(viewer),
) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session, session.begin():
        doc = docs.get_document(session, doc_id)
        authorize(session, session.merge(who.user), "document.validate", doc.school, document_id=doc.id)
        data = DocumentSummary.of(doc).model_dump()
    report: dict[str, Any] = signatures.validate_document(archive, doc_id, version=version, actor=who.user)
    return render(request, "validation.html", doc=data, report=report, version=version or data["version"])
