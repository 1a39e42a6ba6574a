"""HTTP routes of the signing chains: my inbox, returning a record, the chains per document type, batch signing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from archive import chains, signatures
from archive.documents import get_document
from archive.errors import ArchiveError
from archive.models import DocumentType
from archive.permissions import authorize_scope
from hoso.api.deps import ArchiveDep, Guard, GuardDep, require
from hoso.api.schemas import ChainOut, ChainStepOut, DocumentSummary

router = APIRouter(tags=["signing chains"])
ChainManagerDep = Annotated[Guard, Depends(require("chain.manage"))]

MAX_BATCH = 200


class InboxItem(BaseModel):
    """A signature waiting for me: the record, the step, who signed before."""

    request_id: int
    document: DocumentSummary
    step: ChainStepOut
    waiting_since: str | None
    signed_before: list[ChainStepOut]


class Inbox(BaseModel):
    total: int
    items: list[InboxItem]


@router.get("/me/inbox", summary='What waits for my signature ("Chờ tôi ký"), oldest first')
def my_inbox(archive: ArchiveDep, guard: GuardDep) -> Inbox:
    with archive.sessions() as session:
        user = session.merge(guard.user)
        items = []
        for row, doc in chains.inbox(session, user):
            described = ChainStepOut.model_validate(chains.describe(row))
            items.append(
                InboxItem(
                    request_id=row.id,
                    document=DocumentSummary.of(doc),
                    step=described,
                    waiting_since=row.opened_at.isoformat() if row.opened_at else None,
                    signed_before=[
                        ChainStepOut.model_validate(d)
                        for d in chains.signed_before(session, doc.id, row.round)
                    ],
                )  # fmt: skip
            )
        return Inbox(total=len(items), items=items)


class ReturnIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="Why the record goes back to its uploader")


@router.post(
    "/documents/{doc_id}/return",
    summary="Return a record to its uploader with a reason (only the signer whose turn it is)",
)
def return_document(doc_id: str, body: ReturnIn, archive: ArchiveDep, guard: GuardDep) -> ChainOut:
    with archive.sessions() as session, session.begin():
        doc = get_document(session, doc_id)
        guard.check(session, "document.read", doc.school, document_id=doc.id)
        chains.return_record(session, doc, session.merge(guard.user), body.reason)
    with archive.sessions() as session:
        return ChainOut.of(chains.state_of(session, get_document(session, doc_id)))


@router.get("/documents/{doc_id}/signing-chain", summary="Where the record's signing chain stands")
def document_chain(doc_id: str, archive: ArchiveDep, guard: GuardDep) -> ChainOut:
    with archive.sessions() as session:
        doc = get_document(session, doc_id)
        guard.check(session, "document.read", doc.school, document_id=doc.id)
        return ChainOut.of(chains.state_of(session, doc))


class StepIn(BaseModel):
    who: str = Field(description="uploader / subject_teachers / homeroom / group_head / principal / seal")
    title_vi: str = Field("", max_length=100, description="Drawn above the signature, e.g. HIỆU TRƯỞNG")
    parallel: bool = False
    optional: bool = False
    source: str = Field("", max_length=2000)


class StepOut(StepIn):
    position: int
    who_vi: str


class ChainDefinition(BaseModel):
    type: str
    type_name: str
    version: int
    steps: list[StepOut]


class ChainIn(BaseModel):
    steps: list[StepIn]


def _definition(session: Any, t: DocumentType) -> ChainDefinition:
    steps = [
        StepOut.model_validate(s.as_dict()) for s in chains.steps_of(session, t.code) if s.who in chains.WHO
    ]
    return ChainDefinition(
        type=t.code, type_name=t.name_vi, version=chains.chain_version(session, t.code), steps=steps
    )


@router.get("/signing-chains", summary="The signing chain of every document type (current versions)")
def list_chains(archive: ArchiveDep, guard: GuardDep) -> list[ChainDefinition]:
    del guard  # any signed-in person may read how records are signed
    from sqlalchemy import select

    with archive.sessions() as session:
        types = session.scalars(select(DocumentType).order_by(DocumentType.code)).all()
        return [_definition(session, t) for t in types]


@router.put(
    "/signing-chains/{type_code}",
    summary="A new version of a type's signing chain (system administrator)",
)
def set_chain(type_code: str, body: ChainIn, archive: ArchiveDep, guard: ChainManagerDep) -> ChainDefinition:
    with archive.sessions() as session, session.begin():
        chains.set_chain(session, type_code, [s.model_dump() for s in body.steps], session.merge(guard.user))
    with archive.sessions() as session:
        t = session.get(DocumentType, type_code)
        assert t is not None
        return _definition(session, t)


class BatchStartIn(BaseModel):
    documents: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    certificate: str = Field(description="the signer's certificate, PEM or base64 DER")
    chain: list[str] = Field(default_factory=list)
    level: str | None = None


class BatchError(BaseModel):
    error: str
    message_vi: str
    message_en: str


class BatchStarted(BaseModel):
    document_id: str
    session_id: str | None = None
    request: dict[str, Any] | None = None
    error: BatchError | None = None


class BatchStartOut(BaseModel):
    requests: list[dict[str, Any]] = Field(
        description="Every prepared request, as one file for `hoso sign-digest` (one PIN entry for them all)"
    )
    items: list[BatchStarted]


def _may_sign_at_all(archive: ArchiveDep, guard: Guard) -> None:
    with archive.sessions() as session, session.begin():
        authorize_scope(session, session.merge(guard.user), "document.sign", guard.scopes)


def _error(exc: ArchiveError) -> BatchError:
    return BatchError(error=exc.code, message_vi=exc.message_vi, message_en=exc.message_en)


@router.post(
    "/signing-sessions/batch",
    status_code=201,
    summary="Prepare many documents for one signer at once (bulk signing from the inbox)",
)
def start_batch(body: BatchStartIn, archive: ArchiveDep, guard: GuardDep) -> BatchStartOut:
    _may_sign_at_all(archive, guard)
    items = signatures.start_batch(
        archive, body.documents, certificate=signatures.certificate_der(body.certificate),
        chain=[signatures.certificate_der(c) for c in body.chain], level=body.level, actor=guard.user,
        scopes=guard.scopes,
    )  # fmt: skip
    out = [
        BatchStarted(
            document_id=i.document_id,
            session_id=i.started.id if i.started else None,
            request=i.started.request if i.started else None,
            error=_error(i.error) if i.error else None,
        )
        for i in items
    ]
    return BatchStartOut(requests=[i.request for i in out if i.request], items=out)


class SignatureAnswer(BaseModel):
    session_id: str
    signature: str = Field(description="base64 signature value (from hoso sign-digest)")
    certificate_sha256: str | None = None


class BatchFinishIn(BaseModel):
    signatures: list[SignatureAnswer] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="The `signatures` of the hoso-sign-batch-response file",
    )


class BatchFinished(BaseModel):
    document_id: str
    version: int | None = None
    verdict: str | None = None
    error: BatchError | None = None


@router.put(
    "/signing-sessions/batch", summary="Return many signature values at once; each is checked and embedded"
)
def finish_batch(body: BatchFinishIn, archive: ArchiveDep, guard: GuardDep) -> list[BatchFinished]:
    _may_sign_at_all(archive, guard)
    answers: list[dict[str, Any]] = [a.model_dump() for a in body.signatures]
    items = signatures.finish_batch(archive, answers, actor=guard.user, scopes=guard.scopes)
    return [
        BatchFinished(
            document_id=i.document_id,
            version=i.version.number if i.version else None,
            verdict=(i.version.validation or {}).get("verdict") if i.version else None,
            error=_error(i.error) if i.error else None,
        )
        for i in items
    ]
