"""The audit trail for those with audit.read (principal, school administrator: their school; system administrator:
everything): filters, a paginated table, CSV/JSON export through the API, and the chain check.

Scope and refusals are the API's own (hoso/api/audit_routes.py `scoped_filter`, reused with the viewer as its
Guard), so the page never shows an event GET /api/v1/audit/events would not; the chain check, like
GET /api/v1/audit/verify, covers the whole log and is the system administrator's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from archive import audit
from archive.errors import InvalidInput, NotFound
from archive.models import Document, DocumentType, Event, Organisation, User
from archive.permissions import authorize, permitted
from hoso.api.audit_routes import scoped_filter
from hoso.api.deps import Guard
from hoso.web.audit_wording import describe
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, pager, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 50


def _day(value: str, label_vi: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Ngày {label_vi} không hợp lệ: {value} (dạng năm-tháng-ngày, ví dụ 2025-09-05).",
            f"Invalid date {value!r} (YYYY-MM-DD)",
        ) from None


def _range(tu: str, den: str) -> tuple[str | None, str | None]:
    """Whole days in Vietnam time: from the start of `tu` to the end of `den` (the API reads naive times as +07:00)."""
    start, end = _day(tu, "bắt đầu"), _day(den, "kết thúc")
    if start and end and end < start:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", "The end date is before the start date")
    since = f"{start.isoformat()}T00:00:00" if start else None
    until = f"{(end + timedelta(days=1)).isoformat()}T00:00:00" if end else None
    return since, until


def _query(request: Request, who: Viewer, filters: dict[str, str], page: int) -> dict[str, Any]:
    archive = archive_of(request)
    with archive.sessions() as session:
        user = session.merge(who.user)
        may_verify = permitted(session, user, "audit.read", None)
        out: dict[str, Any] = {"may_verify": may_verify, "items": [], "total": 0, "export": None}
        try:
            since, until = _range(filters["tu"], filters["den"])
            f = scoped_filter(
                session, Guard(who.user, None), filters["nguoi"] or None, filters["ho_so"] or None,
                filters["hanh_dong"] or None, since, until,
            )  # fmt: skip
        except (InvalidInput, NotFound) as exc:
            out["error"], out["error_en"] = exc.message_vi, exc.message_en
            return out
        rows, total = audit.query_events(
            session, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, newest_first=True
        )
        out["items"] = _readable(session, rows)
        out["total"] = total
        api = {"actor": filters["nguoi"], "document": filters["ho_so"], "action": filters["hanh_dong"]}
        api |= {"since": since or "", "until": until or ""}
        kept = {k: v for k, v in api.items() if v}
        out["export"] = {
            fmt: "/api/v1/audit/export?" + urlencode({"format": fmt} | kept) for fmt in ("csv", "json")
        }
    return out


def _readable(session: Session, rows: list[Event]) -> list[dict[str, Any]]:
    """The page's events as a person reads them: names, not usernames; titles, not ids; sentences, not JSON."""
    orgs = dict(session.execute(select(Organisation.id, Organisation.name)).tuples().all())
    types = dict(session.execute(select(DocumentType.code, DocumentType.name_vi)).tuples().all())
    doc_ids = {e.document_id for e in rows if e.document_id}
    titles = dict(
        session.execute(select(Document.id, Document.title).where(Document.id.in_(doc_ids))).tuples().all()
    )
    usernames = {e.actor for e in rows} | {
        str(e.detail["instructed_by"])
        for e in rows
        if isinstance(e.detail, dict) and e.detail.get("instructed_by")
    }
    people = {
        u: n or u
        for u, n in session.execute(select(User.username, User.full_name).where(User.username.in_(usernames)))
    }
    out = []
    for e in rows:
        d = audit.event_to_dict(e)
        out.append(
            d | {
                "who": people.get(e.actor, e.actor) if e.actor and e.actor != "system" else "hệ thống",
                "school": orgs.get(e.organisation_id or -1, ""),
                "title": titles.get(e.document_id or ""),
                "said": describe(d, types=types, people=people),
            }
        )  # fmt: skip
    return out


def _page(request: Request, who: Viewer, filters: dict[str, str], page: int, **extra: Any) -> Response:
    found = _query(request, who, filters, page)
    status = 422 if found.get("error") else 200
    return render(
        request, "audit.html", status_code=status, filters=filters,
        **pager("/nhat-ky", filters, page, found["total"], PAGE_SIZE), **found, **extra,
    )  # fmt: skip


@router.get("/nhat-ky")
def audit_page(
    request: Request,
    nguoi: str = Query("", max_length=64),
    ho_so: str = Query("", max_length=64),
    hanh_dong: str = Query("", max_length=64),
    tu: str = Query("", max_length=10),
    den: str = Query("", max_length=10),
    page: int = Query(1, ge=1, le=1_000_000),
    who: Viewer = Depends(viewer),
) -> Response:
    filters = {
        "nguoi": nguoi.strip(),
        "ho_so": ho_so.strip(),
        "hanh_dong": hanh_dong.strip(),
        "tu": tu,
        "den": den,
    }
    return _page(request, who, filters, page)


def _verify(request: Request, who: Viewer) -> audit.VerifyReport:
    archive = archive_of(request)
    with archive.sessions() as session:
        # the same rule as GET /api/v1/audit/verify: the whole chain, so audit.read not tied to one school
        authorize(session, session.merge(who.user), "audit.read", None)
    return audit.verify(archive)


@router.post("/nhat-ky/kiem-tra-chuoi")
async def verify_chain(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    report = await run_in_threadpool(_verify, request, who)
    empty = {"nguoi": "", "ho_so": "", "hanh_dong": "", "tu": "", "den": ""}
    return await run_in_threadpool(_page, request, who, empty, 1, verify=report)
