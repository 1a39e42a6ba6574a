"""Full-text search over the content of records (archive/fulltext.py), separate from the metadata filter of the
document list (`GET /documents?q=` searches titles, classes and teachers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from archive import fulltext
from hoso.api.deps import ArchiveDep, GuardDep

router = APIRouter(tags=["search"])


class SearchHit(BaseModel):
    id: str = Field(description="The document's id")
    title: str
    school: str = Field(description="The school's name")
    type: str = Field(description="Document type code")
    year: str = Field(description="School year")
    passage: str = Field(description="The line of the text where the words were found (original spelling)")


class SearchPage(BaseModel):
    q: str
    terms: list[str] = Field(description="The words searched, lower case and without diacritics")
    total: int
    items: list[SearchHit]


@router.get("/search", summary="Records whose content holds every word (diacritics and case ignored)")
def search(
    q: Annotated[
        str, Query(min_length=1, max_length=200, description="Words to find in the text of records")
    ],
    archive: ArchiveDep,
    guard: GuardDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SearchPage:
    with archive.sessions() as session:
        hits, total = fulltext.search(
            session, q, school_ids=guard.school_ids(session, "document.read"), limit=limit, offset=offset
        )
        items = [
            SearchHit(
                id=h.document.id,
                title=h.document.title,
                school=h.school,
                type=h.document.type_code,
                year=h.document.school_year,
                passage=h.passage,
            )
            for h in hits
        ]
    return SearchPage(q=q, terms=fulltext.terms_of(q), total=total, items=items)
