"""Reading, exporting and verifying the audit trail. A principal or school administrator sees the events of their
school; the system administrator sees everything, including events tied to no organisation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from archive import audit
from archive.documents import get_document
from hoso.api.deps import ArchiveDep, AuditAllDep, Guard, GuardDep
from hoso.api.schemas import AuditVerifyOut, EventOut, EventPage

router = APIRouter(tags=["audit"])


def scoped_filter(
    session: Any,
    guard: Guard,
    actor: str | None,
    document: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
) -> audit.EventFilter:
    """The caller's filter narrowed to what they may read (GET /audit/events, /audit/export and the /nhat-ky page):
    refuses (and records) a caller without audit.read anywhere, or asking for a document outside their schools."""
    ids = guard.school_ids(session, "audit.read")
    if ids == []:
        # refuses, and records the refusal where the person's own school can see it
        me = session.merge(guard.user)
        guard.check(session, "audit.read", me.organisation)
    if document and ids is not None:
        guard.check(session, "audit.read", get_document(session, document).school, document_id=document)
    return audit.EventFilter(
        actor=actor,
        document_id=document,
        action=action,
        organisation_ids=ids,
        since=audit.parse_time(since, "since"),
        until=audit.parse_time(until, "until"),
    )


@router.get("/audit/events", summary="Query the audit trail (by person, document, action, time range)")
def events(
    guard: GuardDep,
    archive: ArchiveDep,
    actor: str | None = None,
    document: str | None = None,
    action: Annotated[
        str | None, Query(description='exact, or a prefix such as "auth." or "document.*"')
    ] = None,
    since: Annotated[str | None, Query(description="ISO 8601; without a zone: Vietnam time")] = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EventPage:
    with archive.sessions() as session:
        f = scoped_filter(session, guard, actor, document, action, since, until)
        rows, total = audit.query_events(session, f, limit=limit, offset=offset)
        return EventPage(total=total, items=[EventOut.of(e) for e in rows])


@router.get(
    "/audit/export",
    summary="Export the audit trail as CSV or JSON (same filters)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/EventOut"}}
                },
            },
            "description": "An attachment, streamed: CSV (detail as JSON text) or a JSON array of events",
        }
    },
)
def export(
    guard: GuardDep,
    archive: ArchiveDep,
    format: Literal["csv", "json"] = "csv",
    actor: str | None = None,
    document: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> StreamingResponse:
    with archive.sessions() as session:
        f = scoped_filter(session, guard, actor, document, action, since, until)
        # materialised inside the session; exports are bounded by the filter the caller chose
        rows = list(audit.iter_events(session, f))
    chunks = (audit.export_csv if format == "csv" else audit.export_json)(iter(rows))
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    name = f"hoso-audit.{format}"
    return StreamingResponse(
        chunks, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/audit/verify", summary="Verify the hash chain and the anchors (system administrator)")
def verify(guard: AuditAllDep, archive: ArchiveDep) -> AuditVerifyOut:
    return AuditVerifyOut.model_validate(audit.verify(archive).to_dict())
