"""The media register page (/vat-mang-tin): every export to CD/USB, its checksum and label, and which media are due for
renewal (Thông tư 02/2019: 3 years). Media are written with `hoso export media` on the machine that has the drive;
this page is where the school sees the register. Same audience as the integrity page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from hoso.web.common import Viewer, WebRoute, archive_of, render, viewer
from hoso.web.pages_integrity import check_audience
from retention.media import register

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/vat-mang-tin")
def media_register(request: Request, who: Viewer = Depends(viewer)) -> Response:
    check_audience(request, who)
    with archive_of(request).sessions() as session:
        rows = register(session)
    return render(request, "media.html", rows=rows, due=sum(r["due"] for r in rows))
