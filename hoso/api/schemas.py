"""The bodies the HTTP API answers with, as Pydantic models: /openapi.json describes each one, and the same models
give the web pages and the CLI's `--json` output their data (one serialisation of a document, a person, a batch …).

Field order is the order of the JSON keys. Times are the ISO 8601 strings `datetime.isoformat()` writes (`+00:00`,
microseconds only when there are some), built by each `of()` constructor: Pydantic's own datetime output (`Z`) would
change the bytes clients already parse. Free-form detail (an event's `detail`, a stored validation report) stays
`dict[str, Any]`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from archive import chains
from archive.audit import event_to_dict
from archive.content_checks import checks_for_version
from archive.models import (
    ApiToken,
    Document,
    Event,
    Organisation,
    RecordLock,
    StoredObject,
    User,
    Version,
    WebSession,
)
from archive.permissions import roles_of
from retention import disposal, holds
from retention.rules import BLOCKER_TEXT, Decision
from storage import content_key

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Verdict = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


# --- organisations and people ----------------------------------------------------------------------------------
class OrgOut(BaseModel):
    code: str
    name: str
    kind: str
    level: str | None
    parent: str | None

    @classmethod
    def of(cls, org: Organisation) -> OrgOut:
        return cls(
            code=org.code,
            name=org.name,
            kind=org.kind,
            level=org.level,
            parent=org.parent.code if org.parent else None,
        )


class OrgImportOut(BaseModel):
    created: list[str]
    unchanged: list[str]


class RoleOut(BaseModel):
    role: str
    organisation: str | None
    name_vi: str


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    email: str | None
    organisation: str | None
    is_active: bool
    is_system_admin: bool
    totp_enabled: bool
    roles: list[RoleOut]

    @classmethod
    def of(cls, session: Session, user: User) -> UserOut:
        return cls(**_user_fields(session, user))


def _user_fields(session: Session, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "organisation": user.organisation.code if user.organisation else None,
        "is_active": user.is_active,
        "is_system_admin": user.is_system_admin,
        "totp_enabled": user.totp_enabled,
        "roles": [RoleOut.model_validate(r) for r in roles_of(session, user)],
    }


class MeOut(UserOut):
    permissions: dict[str, Literal["*"] | list[str]] = Field(
        description='action → "*" (everywhere) or the organisation codes'
    )
    token_scopes: list[str] | None = Field(
        description="The bearer token's scopes; None for a web session or a full token"
    )

    @classmethod
    def of_me(
        cls,
        session: Session,
        user: User,
        permissions: dict[str, Literal["*"] | list[str]],
        token_scopes: list[str] | None,
    ) -> MeOut:
        return cls(**_user_fields(session, user), permissions=permissions, token_scopes=token_scopes)


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: Timestamp


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    prefix: str
    scopes: str
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(**_token_fields(t))


def _token_fields(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user.username,
        "name": t.name,
        "prefix": t.prefix,
        "scopes": t.scopes,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat() if t.expires_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
    }


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret, shown this once")

    @classmethod
    def issued(cls, t: ApiToken, secret: str) -> IssuedTokenOut:
        return cls(**_token_fields(t), token=secret)


class SessionOut(BaseModel):
    id: int
    created_at: Timestamp
    expires_at: Timestamp
    last_seen_at: Timestamp | None
    ip: str
    user_agent: str

    @classmethod
    def of(cls, r: WebSession) -> SessionOut:
        return cls(
            id=r.id,
            created_at=r.created_at.isoformat(),
            expires_at=r.expires_at.isoformat(),
            last_seen_at=r.last_seen_at.isoformat() if r.last_seen_at else None,
            ip=r.ip,
            user_agent=r.user_agent,
        )


class PasswordResetOut(BaseModel):
    username: str
    password: str | None = Field(description="The generated one; None when the administrator chose it")


class TotpEnrolOut(BaseModel):
    secret: str
    uri: str


class LockOut(BaseModel):
    school: str
    type: str
    year: str
    locked_at: Timestamp
    locked_by: str = Field(description='A username, or "system"')
    instructed_by: str | None
    reason: str

    @classmethod
    def of(cls, lock: RecordLock) -> LockOut:
        return cls(
            school=lock.school.code,
            type=lock.type_code,
            year=lock.school_year,
            locked_at=lock.locked_at.isoformat(),
            locked_by=lock.locked_by.username if lock.locked_by else "system",
            instructed_by=lock.instructed_by.username if lock.instructed_by else None,
            reason=lock.reason,
        )


class LockChangeOut(BaseModel):
    school: str
    type: str
    year: str
    locked: bool


# --- the audit trail -------------------------------------------------------------------------------------------
class EventOut(BaseModel):
    """One event as archive.audit.event_to_dict writes it (the exports use the same form)."""

    id: int
    occurred_at: Timestamp
    actor: str
    actor_id: int | None
    action: str
    outcome: str
    organisation_id: int | None
    document_id: str | None
    version_id: int | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, ev: Event) -> EventOut:
        return cls.model_validate(event_to_dict(ev))


class EventPage(BaseModel):
    total: int
    items: list[EventOut]


class ChainBreakOut(BaseModel):
    kind: str = Field(description="gap / prev_hash / hash / head / anchor")
    event_id: int | None
    message_vi: str
    message_en: str
    where: str


class AuditVerifyOut(BaseModel):
    events_checked: int
    last_event_id: int | None
    last_hash: str
    first_break: ChainBreakOut | None
    anchors_checked: int
    anchor_problems: list[ChainBreakOut]
    ok: bool


# --- documents -------------------------------------------------------------------------------------------------
class ReplicaOut(BaseModel):
    store: str
    state: str
    verified_at: Timestamp | None


class VersionOut(BaseModel):
    number: int
    sha256: str
    size: int
    media_type: str
    filename: str
    page_count: int | None
    created_at: Timestamp
    created_by: str | None
    reason: str
    signed: bool
    manifest_sha256: str
    validation: dict[str, Any] | None = Field(
        description="The report stored when the version was made (signing)"
    )

    @classmethod
    def of(cls, v: Version) -> VersionOut:
        return cls(
            number=v.number,
            sha256=v.sha256,
            size=v.size,
            media_type=v.media_type,
            filename=v.original_filename,
            page_count=v.page_count,
            created_at=v.created_at.isoformat(),
            created_by=v.created_by.username if v.created_by else None,
            reason=v.reason,
            signed=v.signed,
            manifest_sha256=v.manifest_sha256,
            validation=v.validation,
        )


class CheckOut(BaseModel):
    """A finding about the content of the current version (archive/content_checks.py)."""

    name: str
    result: str
    message_vi: str
    message_en: str
    detail: str


class DocumentSummary(BaseModel):
    """A document as listings show it (one query for a page of them)."""

    id: str
    school: str
    school_name: str
    type: str
    type_name: str
    year: str
    title: str
    class_name: str | None
    subject: str | None
    teacher: str | None
    status: str
    created_at: Timestamp
    created_by: str | None
    version: int | None
    sha256: str | None
    size: int | None
    media_type: str | None
    filename: str | None
    signed: bool
    signing_status: str = Field(
        "none", description="The signing chain: none / waiting / complete / returned (archive/chains.py)"
    )
    signing_status_vi: str = Field("", description='e.g. "Chờ GVCN ký", "Chờ Hiệu trưởng ký", "Hoàn tất"')

    @classmethod
    def of(cls, doc: Document) -> DocumentSummary:
        return cls(**_summary_fields(doc))

    @classmethod
    def page(cls, session: Session, docs: list[Document]) -> list[DocumentSummary]:
        """A list's rows: the signing status of all of them in one query, not one per row."""
        statuses = chains.statuses_of(session, [d.id for d in docs])
        return [cls(**_summary_fields(d, statuses[d.id])) for d in docs]


def _summary_fields(doc: Document, chain_status: tuple[str, str] | None = None) -> dict[str, Any]:
    cur = doc.current
    if chain_status is None:
        session = object_session(doc)
        chain_status = chains.status_of(session, doc.id) if session is not None else ("none", "")
    status, status_vi = chain_status
    return {
        "signing_status": status,
        "signing_status_vi": status_vi,
        "id": doc.id,
        "school": doc.school.code,
        "school_name": doc.school.name,
        "type": doc.type_code,
        "type_name": doc.doc_type.name_vi,
        "year": doc.school_year,
        "title": doc.title,
        "class_name": doc.class_name,
        "subject": doc.subject,
        "teacher": doc.teacher,
        "status": doc.status,
        "created_at": doc.created_at.isoformat(),
        "created_by": doc.created_by.username if doc.created_by else None,
        "version": cur.number if cur else None,
        "sha256": cur.sha256 if cur else None,
        "size": cur.size if cur else None,
        "media_type": cur.media_type if cur else None,
        "filename": cur.original_filename if cur else None,
        "signed": cur.signed if cur else False,
    }


def _full_fields(session: Session, doc: Document) -> dict[str, Any]:
    cur = doc.current
    # ingest writes a document and its first version in one transaction: a document always has a current version
    assert cur is not None, f"document {doc.id} has no version"
    obj = session.scalar(select(StoredObject).where(StoredObject.key == content_key(cur.sha256)))
    replicas = [
        ReplicaOut(
            store=c.store_url,
            state=c.state,
            verified_at=c.verified_at.isoformat() if c.verified_at else None,
        )
        for c in (obj.copies if obj is not None else [])
    ]
    return _summary_fields(doc) | {
        "signing": ChainOut.of(chains.state_of(session, doc)),
        "replicas": replicas,
        "versions": [VersionOut.of(v) for v in doc.versions],
        "checks": [CheckOut.model_validate(c) for c in checks_for_version(session, cur.id)],
    }


class ChainStepOut(BaseModel):
    """One person's (or the seal's) step in a record's signing chain."""

    id: int
    position: int
    who: str = Field(description="uploader / subject_teachers / homeroom / group_head / principal / seal")
    who_vi: str
    title_vi: str
    subject: str
    person: str | None = Field(description="Full name of the person asked (None for the seal)")
    username: str | None
    status: str = Field(description="pending / waiting / signed / returned / cancelled")
    opened_at: str | None
    done_at: str | None
    done_by: str | None
    version: int | None
    note: str


class ChainOut(BaseModel):
    """Where a record's signing chain stands."""

    status: str = Field(description="none / waiting / complete / returned")
    label_vi: str
    label_en: str
    waiting: list[ChainStepOut]
    steps: list[ChainStepOut]

    @classmethod
    def of(cls, state: chains.ChainState) -> ChainOut:
        return cls(
            status=state.status, label_vi=state.label_vi, label_en=state.label_en,
            waiting=[ChainStepOut.model_validate(w) for w in state.waiting],
            steps=[ChainStepOut.model_validate(w) for w in state.steps],
        )  # fmt: skip


class DocumentOut(DocumentSummary):
    """One document with its replica states, every version, and the findings about its content."""

    signing: ChainOut
    replicas: list[ReplicaOut]
    versions: list[VersionOut]
    checks: list[CheckOut]

    @classmethod
    def full(cls, session: Session, doc: Document) -> DocumentOut:
        return cls(**_full_fields(session, doc))


class UploadedDocument(DocumentOut):
    created: bool = Field(description="False: the same bytes were already stored for this school and type")

    @classmethod
    def after_upload(cls, session: Session, doc: Document, created: bool) -> UploadedDocument:
        return cls(**_full_fields(session, doc), created=created)


class SignedDocument(DocumentOut):
    validation: dict[str, Any] | None = Field(description="The new version's validation report")

    @classmethod
    def after_signing(
        cls, session: Session, doc: Document, validation: dict[str, Any] | None
    ) -> SignedDocument:
        return cls(**_full_fields(session, doc), validation=validation)


class DocumentPage(BaseModel):
    total: int = Field(description="How many documents match, counted up to a cap (see total_capped)")
    total_capped: bool = Field(
        False,
        description="More documents match than `total` says: the count stops at the cap (archive/finding.py)",
    )
    items: list[DocumentSummary]


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    replicas: dict[str, str] = Field(
        description="Each store (numbered copies for anonymous callers): ok, or why not"
    )


# --- signatures ------------------------------------------------------------------------------------------------
class SignatureReportOut(BaseModel):
    """One signature or document timestamp of the file (signing/report.py)."""

    field_name: str
    kind: str = Field(description="signature / document_timestamp")
    verdict: Verdict
    verdict_vi: str
    sub_indication: str | None
    reason_vi: str
    signer: str | None
    organisation: str | None
    issuer: str | None
    certificate: dict[str, Any] | None
    signing_time: Timestamp | None
    timestamp_time: Timestamp | None
    intact: bool
    valid: bool
    trusted: bool
    revocation: str = Field(description="good / revoked / unknown")
    coverage: str | None
    modification: str = Field(description="none / ltv_updates / form_filling / other")
    level: str | None
    certification: str | None
    warnings: list[str]
    errors: list[str]


class ValidationReportOut(BaseModel):
    verdict: Verdict
    sub_indication: str | None
    verdict_vi: str
    reason_vi: str
    validation_time: Timestamp
    error: str | None
    warnings: list[str]
    signatures: list[SignatureReportOut]
    document_id: str
    sha256: str


class SigningSessionStarted(BaseModel):
    session_id: str
    document_id: str
    base_version: int
    expires_at: Timestamp
    request: dict[str, Any] = Field(
        description="What the signer's tool needs to sign (digest, signed attributes …)"
    )


class SigningSessionOut(BaseModel):
    session_id: str
    document_id: str
    status: str
    signer: str
    level: str
    expires_at: Timestamp
    result_version: int | None
    request: dict[str, Any]


# --- retention -------------------------------------------------------------------------------------------------
class DueOut(BaseModel):
    document_id: str
    school: str
    type_code: str
    school_year: str
    title: str
    disposable_from: Day
    retention: str
    sources: list[str]
    open_batch: int | None
    as_of: Day = Field(description="The date judged by")
    simulation: bool = Field(description="True when that is not the server's date")

    @classmethod
    def of(cls, item: disposal.DueItem, marker: dict[str, object]) -> DueOut:
        return cls.model_validate(
            item.__dict__
            | {"disposable_from": item.disposable_from.isoformat(), "sources": list(item.sources)}
            | marker
        )


class RuleOut(BaseModel):
    schedule: str
    level: str
    retention: str
    status: str
    source: str


class DecisionOut(BaseModel):
    document_id: str
    type: str
    work_end_year: int
    closed_on: Day
    retention: str
    retention_vi: str
    confirmed: bool
    disposable_from: Day | None
    due: bool
    blockers: list[str]
    blockers_text: list[str]
    holds: list[int]
    rules: list[RuleOut]
    as_of: Day
    simulation: bool

    @classmethod
    def of(cls, d: Decision, marker: dict[str, object]) -> DecisionOut:
        return cls.model_validate(
            {
                "document_id": d.document_id,
                "type": d.type_code,
                "work_end_year": d.work_end_year,
                "closed_on": d.closed_on.isoformat(),
                "retention": d.period.text,
                "retention_vi": d.period.label_vi,
                "confirmed": d.confirmed,
                "disposable_from": d.disposable_from.isoformat() if d.disposable_from else None,
                "due": d.due,
                "blockers": list(d.blockers),
                "blockers_text": [" / ".join(BLOCKER_TEXT[b]) for b in d.blockers],
                "holds": list(d.holds),
                "rules": [
                    RuleOut(
                        schedule=r.schedule,
                        level=r.level,
                        retention=r.period.text,
                        status=r.status,
                        source=r.source,
                    )
                    for r in d.applied
                ],
            }
            | marker
        )


class HoldOut(BaseModel):
    id: int
    document_id: str
    reason: str
    reference: str
    note: str
    placed_by: str | None
    placed_at: Timestamp
    released_by: str | None
    released_at: Timestamp | None

    @classmethod
    def of(cls, h: holds.HoldView) -> HoldOut:
        return cls.model_validate(h.__dict__)


class StoreLockOut(BaseModel):
    store: str
    key: str
    action: str = Field(description="retention / hold_on / hold_off")
    ok: bool
    detail: str


class HoldResultOut(HoldOut):
    stores: list[StoreLockOut] = Field(description="What each store's Object Lock answered")

    @classmethod
    def result(cls, r: holds.HoldResult) -> HoldResultOut:
        return cls.model_validate(r.hold.__dict__ | {"stores": [o.__dict__ for o in r.stores]})


class BatchItemOut(BaseModel):
    document_id: str
    title: str
    type: str
    year: str
    disposable_from: Day


class BatchOut(BaseModel):
    id: int
    school: str
    status: str
    proposed_by: str | None
    approved_by: str | None
    executed_at: Timestamp | None
    record_document_id: str | None
    record_signed: bool
    keys_pending: int
    items: list[BatchItemOut]

    @classmethod
    def of(cls, b: disposal.BatchView) -> BatchOut:
        return cls(
            id=b.id,
            school=b.school,
            status=b.status,
            proposed_by=b.proposed_by,
            approved_by=b.approved_by,
            executed_at=b.executed_at,
            record_document_id=b.record_document_id,
            record_signed=b.record_signed,
            keys_pending=b.keys_pending,
            items=[
                BatchItemOut(
                    document_id=i.document_id,
                    title=i.title,
                    type=i.type_code,
                    year=i.school_year,
                    disposable_from=i.disposable_from.isoformat(),
                )
                for i in b.items
            ],
        )


class KeyFailureOut(BaseModel):
    key: str
    store: str
    detail: str


class ExecutionOut(BaseModel):
    batch: int
    status: str = Field(description="executed, or executing while some copies could not be deleted yet")
    record_document_id: str | None
    record_sha256: str | None
    record_signed: bool
    documents: int
    deleted_keys: int
    kept_shared: list[str] = Field(
        description="Content keys kept because a live document uses the same bytes"
    )
    failures: list[KeyFailureOut]

    @classmethod
    def of(cls, r: disposal.ExecutionResult) -> ExecutionOut:
        return cls(
            batch=r.batch_id,
            status=r.status,
            record_document_id=r.record_document_id,
            record_sha256=r.record_sha256,
            record_signed=r.record_signed,
            documents=r.documents,
            deleted_keys=r.deleted_keys,
            kept_shared=list(r.kept_shared),
            failures=[KeyFailureOut(key=f.key, store=f.store, detail=f.detail) for f in r.failures],
        )
