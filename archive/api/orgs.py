from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from .. import orgs
from ..context import Archive
from ..errors import PermissionDenied
from ..models import User
from .deps import current_user, get_archive

router = APIRouter(tags=["organisations"])


class OrgIn(BaseModel):
    code: str
    name: str
    kind: str
    level: str | None = None
    parent: str | None = None


@router.get("/organisations")
def list_orgs(
    archive: Archive = Depends(get_archive), user: User = Depends(current_user)
) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        return [orgs.org_to_dict(o) for o in orgs.list_organisations(session)]


@router.post("/organisations", status_code=201)
def create_org(
    body: OrgIn, archive: Archive = Depends(get_archive), user: User = Depends(current_user)
) -> dict[str, Any]:
    if not user.is_system_admin:
        raise PermissionDenied(
            "Chỉ quản trị hệ thống được thêm đơn vị", "Only a system administrator may add organisations"
        )
    with archive.sessions() as session, session.begin():
        org = orgs.add_organisation(
            session,
            code=body.code,
            name=body.name,
            kind=body.kind,
            level=body.level,
            parent_code=body.parent,
            actor=session.merge(user),
        )
        return orgs.org_to_dict(org)
