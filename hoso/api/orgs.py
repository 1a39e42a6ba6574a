from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel

from archive import orgs
from archive.context import Archive
from hoso.api.deps import Guard, get_archive, get_guard, require

router = APIRouter(tags=["organisations"])


class OrgIn(BaseModel):
    code: str
    name: str
    kind: str
    level: str | None = None
    parent: str | None = None


@router.get("/organisations", summary="The directory of organisations (any signed-in person may read it)")
def list_orgs(
    archive: Archive = Depends(get_archive), guard: Guard = Depends(get_guard)
) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        return [orgs.org_to_dict(o) for o in orgs.list_organisations(session)]


@router.post("/organisations", status_code=201, summary="Add an organisation (system administrator)")
def create_org(
    body: OrgIn, archive: Archive = Depends(get_archive), guard: Guard = Depends(require("org.manage"))
) -> dict[str, Any]:
    with archive.sessions() as session, session.begin():
        org = orgs.add_organisation(
            session,
            code=body.code,
            name=body.name,
            kind=body.kind,
            level=body.level,
            parent_code=body.parent,
            actor=session.merge(guard.user),
        )
        return orgs.org_to_dict(org)


@router.post(
    "/organisations/import",
    summary="Import organisations from CSV (code,name,kind,level,parent); all or nothing, idempotent",
)
def import_orgs(
    file: Annotated[UploadFile, File()],
    archive: Archive = Depends(get_archive),
    guard: Guard = Depends(require("org.manage")),
) -> dict[str, Any]:
    text = orgs.decode_csv(file.file.read())
    with archive.sessions() as session, session.begin():
        return orgs.import_csv(session, text, actor=session.merge(guard.user)).to_dict()
