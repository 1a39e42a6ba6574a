"""The integrity page (/toan-ven): the signed check records (biên bản kiểm tra định kỳ — the backup log of Thông tư
02/2019), each downloadable as its sealed PDF, and the last fixity runs as a chart drawn here as inline SVG (no
script, no library from the internet). Seen by whoever may read an audit trail; making a record on demand is the
system administrator's, since it covers every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from archive.db import utcnow
from archive.permissions import authorize, school_ids_for
from hoso.web import labels
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer
from retention.check_record_filing import countersignatures
from retention.check_records import list_records, make_check_record, recent_runs, record_pdf

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = "/toan-ven"
CHART_W, CHART_H = 720, 200
TOP, BOTTOM, BAR_MAX = 26, 22, 28  # room for the scale above and the dates below; bars no wider than BAR_MAX


def chart(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars of copies checked per run (full runs darker), a red mark over runs that found damage."""
    top = max([r["copies_checked"] for r in runs] + [1])
    step = min(CHART_W / max(len(runs), 1), BAR_MAX + 6)
    base = CHART_H - BOTTOM
    bars = []
    for i, r in enumerate(runs):
        h = round((base - TOP) * r["copies_checked"] / top, 1)
        bars.append(
            {
                "x": round(i * step + 2, 1),
                "y": round(base - h, 1),
                "w": round(max(step - 6, 1), 1),
                "h": h,
                "full": r["kind"] == "full",
                "damage": r["damage_found"],
                "unrepaired": r["unrepaired"],
                "label": f"{_vn(r['finished_at']):%d/%m %H:%M} — {r['kind']}: {r['copies_checked']} bản sao, "
                f"hỏng {r['damage_found']}, khôi phục {r['repaired']}",
            }
        )
    first = runs[0]["finished_at"] if runs else None
    last = runs[-1]["finished_at"] if runs else None
    return {
        "bars": bars, "width": CHART_W, "height": CHART_H, "top": top, "base": base,
        "first": f"{_vn(first):%d/%m %H:%M} (+07:00)" if first else "",
        "last": f"{_vn(last):%d/%m %H:%M}" if last else "",
        "last_x": bars[-1]["x"] + bars[-1]["w"] if bars else 0,
    }  # fmt: skip


def _vn(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(labels.VN)


def check_audience(request: Request, who: Viewer, everything: bool = False) -> None:
    with archive_of(request).sessions() as session:
        user = session.merge(who.user)
        if everything or school_ids_for(session, user, "audit.read") == []:
            authorize(session, user, "audit.read", None)  # raises (recorded) unless system administrator


@router.get(PAGE)
def integrity(request: Request, moi: int | None = None, who: Viewer = Depends(viewer)) -> Response:
    check_audience(request, who)
    with archive_of(request).sessions() as session:
        records = list_records(session, limit=100)
        runs = recent_runs(session, limit=30)
        # the principals' countersignatures, of the schools whose audit trail this person may read
        scope = school_ids_for(session, session.merge(who.user), "audit.read")
        signed = countersignatures(session, [r.sha256 for r in records], scope)
    return render(
        request, "integrity.html", records=records, runs=runs, chart=chart(runs), created=moi, signed=signed,
        may_create=who.user.is_system_admin, period_days=archive_of(request).settings.fixity_full_period_days,
    )  # fmt: skip


@router.post(PAGE + "/bien-ban")
async def create(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    await run_in_threadpool(check_audience, request, who, True)
    archive = archive_of(request)
    now = utcnow()
    rec = await run_in_threadpool(
        lambda: make_check_record(
            archive,
            start=now - timedelta(days=archive.settings.fixity_full_period_days),
            end=now,
            actor=who.user,
        )
    )
    return RedirectResponse(f"{PAGE}?moi={rec.id}", status_code=303)


@router.get(PAGE + "/bien-ban/{record_id}")
def download(request: Request, record_id: int, who: Viewer = Depends(viewer)) -> Response:
    check_audience(request, who)
    rec, pdf = record_pdf(archive_of(request), record_id)
    name = f"bien-ban-kiem-tra-{rec.period_end:%Y%m%d}-{rec.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
