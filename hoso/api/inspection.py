"""Inspection packages over HTTP: make one from a selection, list mine, download the ZIP (resumable with Range),
send it by e-mail as numbered attachments. The rules live in retention/inspection.py; this only parses and maps."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from archive.context import Archive
from archive.documents import content_disposition
from archive.errors import InvalidInput
from archive.models import User
from hoso.api.deps import ArchiveDep, GuardDep
from hoso.api.inspection_schemas import DeliveryOut, PackageOut
from retention import inspection
from retention.inspection_mail import deliver_by_email

router = APIRouter(tags=["inspection"])
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
Codes = Annotated[list[str], Field(default_factory=list, max_length=500)]


class PackageRequest(BaseModel):
    """What to put in the package; empty lists mean "any". Name schools, or tick documents, or both."""

    schools: Codes
    years: Codes
    types: Codes
    classes: Codes
    documents: Codes

    def selection(self) -> inspection.Selection:
        return inspection.Selection.of(
            schools=self.schools,
            years=self.years,
            types=self.types,
            classes=self.classes,
            documents=self.documents,
        )


@router.post("/inspection/packages", status_code=201, summary="Make an inspection package from a selection")
def create(body: PackageRequest, archive: ArchiveDep, guard: GuardDep) -> PackageOut:
    pkg = inspection.create_package(archive, selection=body.selection(), actor=guard.user)
    return PackageOut.of(pkg)


@router.get("/inspection/packages", summary="The packages I made (all of them for the system administrator)")
def list_mine(archive: ArchiveDep, guard: GuardDep) -> list[PackageOut]:
    with archive.sessions() as session:
        return [
            PackageOut.of(p, files=False)
            for p in inspection.list_packages(session, session.merge(guard.user))
        ]


@router.get("/inspection/packages/{package_id}", summary="One package with its listing")
def get_one(package_id: str, archive: ArchiveDep, guard: GuardDep) -> PackageOut:
    with archive.sessions() as session:
        pkg = inspection.get_package(session, session.merge(guard.user), package_id)
        return PackageOut.of(inspection.summary_of(pkg))


@router.get(
    "/inspection/packages/{package_id}/content",
    summary="The package's ZIP as an attachment; resumable (Range: bytes=N-, If-Range)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        206: {"description": "The requested byte range of the ZIP"},
        416: {"description": "The range lies outside the package"},
    },
)
def content(
    package_id: str,
    request: Request,
    archive: ArchiveDep,
    guard: GuardDep,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    return package_response(archive, guard.user, package_id, range_, if_range)


@router.post(
    "/inspection/packages/{package_id}/email",
    summary="Send the package to my e-mail address as numbered attachments under HOSO_INSPECTION_MAIL_MAX_BYTES",
)
def email(package_id: str, archive: ArchiveDep, guard: GuardDep) -> DeliveryOut:
    with archive.sessions() as session:
        user = session.merge(guard.user)
        session.expunge(user)
    return DeliveryOut.of(deliver_by_email(archive, package_id, actor=user))


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One byte range (RFC 9110 §14.1.2): `bytes=a-b`, `bytes=a-`, `bytes=-n`. None: the whole package (no header,
    or several ranges, which we may answer with the whole representation). Unsatisfiable: InvalidInput (416)."""
    if not header or "," in header:
        return None
    m = RANGE.match(header.strip())
    if m is None:
        return None  # a unit we do not know: ignore the header, as the RFC allows
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        start, end = max(0, size - n), size - 1
        if n == 0:
            start = size
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise InvalidInput(
            "Khoảng byte yêu cầu nằm ngoài gói",
            "Requested range is outside the package",
            code="range_not_satisfiable",
            status=416,
            extra={"size": size},
        )
    return start, end


def package_response(
    archive: Archive, user: User, package_id: str, range_header: str | None, if_range: str | None
) -> Response:
    """The ZIP, whole (200) or one range (206), with what a download manager needs to resume it."""
    head = inspection.package_head(archive, package_id, actor=user)
    try:
        wanted = parse_range(range_header, head.size) if (if_range is None or if_range == head.etag) else None
    except InvalidInput as exc:
        body = exc.to_dict()
        return JSONResponse(body, status_code=416, headers={"Content-Range": f"bytes */{head.size}"})
    start, end = wanted if wanted is not None else (0, head.size - 1)
    stream = inspection.open_package(archive, package_id, actor=user, start=start, end=end)
    headers = {
        "Content-Disposition": content_disposition(stream.filename),
        "Content-Length": str(stream.end - stream.start + 1),
        "Accept-Ranges": "bytes",
        "ETag": stream.etag,
        "Cache-Control": "private, no-store",
    }
    if wanted is None:
        return StreamingResponse(stream.chunks, media_type="application/zip", headers=headers)
    headers["Content-Range"] = f"bytes {stream.start}-{stream.end}/{stream.size}"
    return StreamingResponse(stream.chunks, status_code=206, media_type="application/zip", headers=headers)
