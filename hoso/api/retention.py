"""HTTP routes for retention (registered in hoso/app.py): due list, a document's retention, legal holds, disposal
batches. Thin: parse, call retention/ services (which check permissions in one place each), map results to JSON.

Dates: what changes anything (propose, approve, execute) is judged on the server's date (retention/clock.py); a
client-given date on those is refused with 422 `server_date_only`, never silently ignored. The read-only "judge as
of" date (`on` on GET /due and GET /documents/{id}) stays, and the answer says it is a simulation.

Permissions: every route takes the Guard. The services check through archive.permissions, where the token's scopes
of the request apply even when a service passes none (permissions.CREDENTIAL, set by deps.current_user).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from archive.documents import get_document
from archive.errors import InvalidInput
from archive.models import Organisation
from hoso.api.deps import ArchiveDep, Guard, GuardDep
from hoso.api.schemas import BatchOut, DecisionOut, DueOut, ExecutionOut, HoldOut, HoldResultOut
from retention import clock, disposal, holds, schedules

router = APIRouter(tags=["retention"], prefix="/retention")
SIMULATION_HEADER = "X-Hoso-Simulation"
JudgeOn = Annotated[
    str | None,
    Query(description="Judge as of this date (YYYY-MM-DD): a simulation, marked as such in the answer"),
]
# not a parameter anyone may use: kept (out of the schema) only to refuse it loudly instead of ignoring it
RefusedOn = Annotated[str | None, Query(include_in_schema=False)]


def _disposal_schools(guard: Guard, session: Any) -> set[str] | None:
    """Codes of the schools whose disposal work the caller takes part in (proposing or approving); None: all."""
    from sqlalchemy import select

    ids: set[int] = set()
    for action in ("retention.propose_disposal", "retention.approve_disposal"):
        found = guard.school_ids(session, action)
        if found is None:
            return None
        ids.update(found)
    return set(session.scalars(select(Organisation.code).where(Organisation.id.in_(ids))))


def _day(on: str | None) -> date | None:
    if not on:
        return None
    try:
        return date.fromisoformat(on)
    except ValueError:
        raise InvalidInput(
            f"Ngày không hợp lệ: {on!r} (YYYY-MM-DD)", f"Invalid date {on!r} (YYYY-MM-DD)"
        ) from None


def _refuse_client_date(on: object) -> None:
    if on is not None:
        raise InvalidInput(
            "Không được gửi ngày (on): việc lập, phê duyệt và thực hiện tiêu hủy luôn tính theo ngày của máy chủ",
            "A date ('on') is not accepted here: disposal is proposed, approved and executed on the server's date",
            code="server_date_only",
        )


def _simulated(response: Response, on: date | None) -> dict[str, object]:
    marker = clock.simulation(on)
    if marker["simulation"]:
        response.headers[SIMULATION_HEADER] = str(marker["as_of"])
    return marker


@router.get("/due", summary="Documents past their retention date, not held, under confirmed rows")
def due(
    response: Response, archive: ArchiveDep, guard: GuardDep, school: str | None = None, on: JudgeOn = None
) -> list[DueOut]:
    day = _day(on)
    marker = _simulated(response, day)
    with archive.sessions() as session, session.begin():
        allowed = _disposal_schools(guard, session)
        items = [
            i
            for i in disposal.due_documents(session, day or clock.today(), school=school)
            if allowed is None or i.school in allowed
        ]
    return [DueOut.of(i, marker) for i in items]


@router.get(
    "/documents/{document_id}", summary="Which schedule rows apply, the disposable-from date, blockers"
)
def document_retention(
    document_id: str, response: Response, archive: ArchiveDep, guard: GuardDep, on: JudgeOn = None
) -> DecisionOut:
    day = _day(on)
    marker = _simulated(response, day)
    with archive.sessions() as session, session.begin():
        doc = get_document(session, document_id)
        guard.check(session, "document.read", doc.school, document_id=doc.id)
        decision = schedules.decision_for(session, document_id, day or clock.today())
        return DecisionOut.of(decision, marker)


class HoldIn(BaseModel):
    document_id: str
    reason: str = Field(description="inspection, complaint, litigation or other")
    reference: str = Field(description="Inspection decision / complaint file number")
    note: str = ""


class NoteIn(BaseModel):
    note: str = ""


@router.get("/holds", summary="Legal holds (active only unless all=true)")
def list_holds(
    archive: ArchiveDep, guard: GuardDep, document_id: str | None = None, all: bool = False
) -> list[HoldOut]:
    with archive.sessions() as session:
        allowed = guard.school_ids(session, "document.read")
        found = holds.list_holds(session, document_id=document_id, active_only=not all)
        return [
            HoldOut.of(h)
            for h in found
            if allowed is None or get_document(session, h.document_id).school_id in allowed
        ]


@router.post(
    "/holds", status_code=201, summary="Place a legal hold: blocks disposal, holds Object Lock copies"
)
def place_hold(body: HoldIn, archive: ArchiveDep, guard: GuardDep) -> HoldResultOut:
    return HoldResultOut.result(
        holds.place_hold(
            archive,
            document_id=body.document_id,
            reason=body.reason,
            reference=body.reference,
            note=body.note,
            user=guard.user,
        )
    )


@router.post("/holds/{hold_id}/release", summary="Release a legal hold")
def release_hold(hold_id: int, body: NoteIn, archive: ArchiveDep, guard: GuardDep) -> HoldResultOut:
    return HoldResultOut.result(holds.release_hold(archive, hold_id=hold_id, note=body.note, user=guard.user))


class BatchIn(BaseModel):
    school: str
    document_ids: list[str] | None = Field(None, description="Default: every due document of the school")
    note: str = ""
    # not a field anyone may use: kept (out of the schema) only to refuse it loudly instead of ignoring it
    on: SkipJsonSchema[str | None] = None


@router.get("/batches", summary="Disposal batches")
def list_batches(archive: ArchiveDep, guard: GuardDep, school: str | None = None) -> list[BatchOut]:
    with archive.sessions() as session:
        allowed = _disposal_schools(guard, session)
        return [
            BatchOut.of(b)
            for b in disposal.list_batches(session, school=school)
            if allowed is None or b.school in allowed
        ]


@router.post("/batches", status_code=201, summary="Propose a disposal batch (judged on the server's date)")
def propose(body: BatchIn, archive: ArchiveDep, guard: GuardDep) -> BatchOut:
    _refuse_client_date(body.on)
    with archive.sessions() as session, session.begin():
        b = disposal.propose_batch(
            session,
            school=body.school,
            user=session.merge(guard.user),
            document_ids=body.document_ids,
            note=body.note,
        )
        return BatchOut.of(b)


@router.post(
    "/batches/{batch_id}/approve", summary="Approve a proposed batch (the principal; the server's date)"
)
def approve(batch_id: int, archive: ArchiveDep, guard: GuardDep, on: RefusedOn = None) -> BatchOut:
    _refuse_client_date(on)
    with archive.sessions() as session, session.begin():
        b = disposal.approve_batch(session, batch_id=batch_id, user=session.merge(guard.user))
        return BatchOut.of(b)


@router.post(
    "/batches/{batch_id}/execute",
    summary="Carry out an approved batch (record first, then deletion; every document re-checked now)",
)
def execute(batch_id: int, archive: ArchiveDep, guard: GuardDep, on: RefusedOn = None) -> ExecutionOut:
    _refuse_client_date(on)
    sign = archive.signing.sign_org if archive.signing is not None else None
    # the same people who may approve may carry it out: execute_batch checks it (an approved batch is the
    # principal's decision)
    result = disposal.execute_batch(archive, batch_id=batch_id, sign=sign, user=guard.user)
    return ExecutionOut.of(result)
