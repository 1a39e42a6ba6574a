"""The content search page: words in, the records whose text holds them out, each with its matching passage."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from archive import fulltext
from archive.permissions import school_ids_for
from hoso.web.common import Viewer, WebRoute, archive_of, pager, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 20


@router.get("/tim-kiem")
def search_page(
    request: Request,
    q: str = Query("", max_length=200),
    page: int = Query(1, ge=1, le=100_000),
    who: Viewer = Depends(viewer),
) -> Response:
    query = q.strip()
    hits: list[dict] = []
    total = 0
    if query:
        with archive_of(request).sessions() as session:
            ids = school_ids_for(session, session.merge(who.user), "document.read")
            found, total = fulltext.search(
                session, query, school_ids=ids, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            hits = [
                {
                    "id": h.document.id,
                    "title": h.document.title,
                    "school": h.school,
                    "year": h.document.school_year,
                    "pieces": fulltext.highlight(h.passage, h.terms),
                }
                for h in found
            ]
    return render(
        request,
        "search.html",
        q=query,
        hits=hits,
        total=total,
        **pager("/tim-kiem", {"q": query}, page, total, PAGE_SIZE),
    )
