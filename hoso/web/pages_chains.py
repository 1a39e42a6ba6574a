"""The signing chains of every document type ("Quy trình ký"): anyone signed in reads them; the system administrator
edits one, which records a new version (archive.chains.set_chain) — records already in a chain keep theirs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from archive import chains
from archive.errors import ArchiveError, InvalidInput, NotFound
from archive.models import DocumentType
from archive.permissions import authorize
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MAX_STEPS = 8


def _all(request: Request) -> list[dict[str, Any]]:
    with archive_of(request).sessions() as session:
        out = []
        for t in session.scalars(select(DocumentType).order_by(DocumentType.name_vi)):
            steps = [s.as_dict() for s in chains.steps_of(session, t.code) if s.who in chains.WHO]
            out.append({"code": t.code, "name": t.name_vi, "version": chains.chain_version(session, t.code),
                        "steps": steps})  # fmt: skip
        return out


@router.get("/quy-trinh-ky")
def chains_page(
    request: Request, sua: str | None = None, luu: int | None = None, who: Viewer = Depends(viewer)
) -> Response:
    types = _all(request)
    editing = next((t for t in types if t["code"] == sua), None) if sua else None
    if sua and editing is None:
        raise NotFound("Không có loại hồ sơ này", f"No document type {sua}")
    return render(request, "chains.html", types=types, editing=editing, saved=luu, who_options=chains.WHO,
                  max_steps=MAX_STEPS, may_edit=who.user.is_system_admin)  # fmt: skip


@router.post("/quy-trinh-ky/{type_code}")
async def save_chain(request: Request, type_code: str, who: Viewer = Depends(form_viewer)) -> Response:
    form = await request.form()
    steps = []
    for i in range(1, MAX_STEPS + 1):
        role = str(form.get(f"who_{i}") or "")
        if not role:
            continue
        steps.append({
            "who": role, "title_vi": str(form.get(f"title_{i}") or "")[:100],
            "parallel": form.get(f"parallel_{i}") == "1", "optional": form.get(f"optional_{i}") == "1",
            "source": str(form.get(f"source_{i}") or "")[:2000],
        })  # fmt: skip
    archive = archive_of(request)
    try:
        with archive.sessions() as session, session.begin():
            user = session.merge(who.user)
            authorize(session, user, "chain.manage", None)
            chains.set_chain(session, type_code, steps, user)
    except InvalidInput as exc:
        types = _all(request)
        editing = next((t for t in types if t["code"] == type_code), None)
        if editing is not None:
            editing = editing | {"steps": [s | {"position": n, "who_vi": chains.WHO.get(str(s["who"]), ("", ""))[0]}
                                           for n, s in enumerate(steps, 1)]}  # fmt: skip
        return render(request, "chains.html", status_code=exc.status, types=types, editing=editing,
                      who_options=chains.WHO, max_steps=MAX_STEPS, may_edit=True, error=exc.message_vi,
                      error_en=exc.message_en)  # fmt: skip
    except ArchiveError:
        raise
    return RedirectResponse(f"/quy-trinh-ky?luu=1#loai-{type_code}", status_code=303)
