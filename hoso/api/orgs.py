from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel

from archive import orgs
from hoso.api.deps import ArchiveDep, GuardDep, OrgManagerDep
from hoso.api.schemas import OrgImportOut, OrgOut

router = APIRouter(tags=["organisations"])


class OrgIn(BaseModel):
    code: str
    name: str
    kind: str
    level: str | None = None
    parent: str | None = None


@router.get("/organisations", summary="The directory of organisations (any signed-in person may read it)")
def list_orgs(archive: ArchiveDep, guard: GuardDep) -> list[OrgOut]:
    with archive.sessions() as session:
        return [OrgOut.of(o) for o in orgs.list_organisations(session)]


@router.post("/organisations", status_code=201, summary="Add an organisation (system administrator)")
def create_org(body: OrgIn, archive: ArchiveDep, guard: OrgManagerDep) -> OrgOut:
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
        return OrgOut.of(org)


@router.post(
    "/organisations/import",
    summary="Import organisations from CSV (code,name,kind,level,parent); all or nothing, idempotent",
)
def import_orgs(
    file: Annotated[UploadFile, File()], archive: ArchiveDep, guard: OrgManagerDep
) -> OrgImportOut:
    text = orgs.decode_csv(file.file.read())
    with archive.sessions() as session, session.begin():
        result = orgs.import_csv(session, text, actor=session.merge(guard.user))
    return OrgImportOut(created=result.created, unchanged=result.unchanged)
