"""HTTP routes for signatures: server-held keys, two-step signing sessions, validation reports."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from archive import signatures
from archive.context import Archive
from archive.documents import get_document
from archive.errors import InvalidInput
from hoso.api.deps import ArchiveDep, GuardDep
from hoso.api.schemas import SignedDocument, SigningSessionOut, SigningSessionStarted, ValidationReportOut

router = APIRouter(tags=["signing"])

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]


class AppearanceIn(BaseModel):
    kind: Literal["invisible", "text", "person", "seal"] = "invisible"
    lines: list[str] = Field(
        default_factory=list, description="text form: document number / copy form, organisation"
    )
    title: str | None = None
    full_name: str | None = None
    signature_image: str | None = Field(None, description="base64 PNG (blue, transparent)")
    seal_image: str | None = Field(None, description="base64 PNG (red, transparent)")


class SignIn(BaseModel):
    level: Level | None = None
    reason: str | None = None
    appearance: AppearanceIn | None = None
    certify: bool = False


class SessionIn(BaseModel):
    certificate: str = Field(description="the signer's certificate, PEM or base64 DER")
    chain: list[str] = Field(default_factory=list, description="intermediate certificates, PEM or base64 DER")
    level: Level | None = None
    reason: str | None = None
    appearance: AppearanceIn | None = None


class SignatureIn(BaseModel):
    signature: str = Field(
        description="base64 signature value over the signed attributes (from hoso sign-digest)"
    )
    certificate_sha256: str | None = None


def _signed(archive: Archive, doc_id: str, validation: dict[str, Any] | None) -> SignedDocument:
    with archive.sessions() as session:
        return SignedDocument.after_signing(session, get_document(session, doc_id), validation)


@router.post(
    "/documents/{doc_id}/signatures", status_code=201, summary="Sign with the organisation's server-held key"
)
def sign(doc_id: str, archive: ArchiveDep, guard: GuardDep, body: SignIn | None = None) -> SignedDocument:
    body = body or SignIn()
    # server-held keys are the organisation's (the school seal), never a person's
    user = signatures.authorize_signing(archive, guard.user, doc_id, "document.seal", scopes=guard.scopes)
    setup = signatures.setup_of(archive)
    version = signatures.sign_document(
        archive, doc_id, level=body.level, reason=body.reason, certify=body.certify, actor=user,
        appearance=signatures.appearance_from(body.appearance.model_dump() if body.appearance else None, setup),
    )  # fmt: skip
    return _signed(archive, doc_id, version.validation)


@router.post(
    "/documents/{doc_id}/signing-sessions",
    status_code=201,
    summary="Two-step signing: prepare the document for a key on the signer's own token",
)
def start_session(
    doc_id: str, body: SessionIn, archive: ArchiveDep, guard: GuardDep
) -> SigningSessionStarted:
    user = signatures.authorize_signing(archive, guard.user, doc_id, "document.sign", scopes=guard.scopes)
    setup = signatures.setup_of(archive)
    started = signatures.start_signing_session(
        archive, doc_id, certificate=signatures.certificate_der(body.certificate), chain=[signatures.certificate_der(c) for c in body.chain], level=body.level,
        reason=body.reason, actor=user,
        appearance=signatures.appearance_from(body.appearance.model_dump() if body.appearance else None, setup),
    )  # fmt: skip
    return SigningSessionStarted(
        session_id=started.id,
        document_id=doc_id,
        base_version=started.base_version,
        expires_at=started.expires_at.isoformat(),
        request=started.request,
    )


@router.put(
    "/signing-sessions/{session_id}", summary="Return the signature value; the server verifies and embeds it"
)
def finish_session(
    session_id: str, body: SignatureIn, archive: ArchiveDep, guard: GuardDep
) -> SignedDocument:
    row = signatures.pending_session(archive, session_id)
    user = signatures.authorize_session_owner(archive, guard.user, row, scopes=guard.scopes)
    if body.certificate_sha256 and body.certificate_sha256 != row.certificate_sha256:
        raise InvalidInput(
            "Chữ ký được tạo bằng chứng thư khác với chứng thư đã khai báo",
            "The signature was made with a different certificate than the session's",
            code="signature_mismatch",
        )
    version = signatures.finish_signing_session(archive, session_id, body.model_dump(), actor=user)
    return _signed(archive, row.document_id, version.validation)


@router.get("/signing-sessions/{session_id}", summary="State of a signing session (and its request)")
def get_session(session_id: str, archive: ArchiveDep, guard: GuardDep) -> SigningSessionOut:
    row = signatures.pending_session(archive, session_id)
    signatures.authorize_session_owner(archive, guard.user, row, scopes=guard.scopes)
    return SigningSessionOut(
        session_id=row.id,
        document_id=row.document_id,
        status=row.status,
        signer=row.signer_name,
        level=row.level,
        expires_at=row.expires_at.isoformat(),
        result_version=row.result_version,
        request=json.loads(row.request) | {"session_id": row.id},
    )


@router.get("/documents/{doc_id}/validation", summary="Validation report (Thông tư 15/2025/TT-BKHCN)")
def validation(
    doc_id: str, archive: ArchiveDep, guard: GuardDep, version: int | None = None, at: datetime | None = None
) -> ValidationReportOut:
    user = signatures.authorize_signing(archive, guard.user, doc_id, "document.validate", scopes=guard.scopes)
    report = signatures.validate_document(archive, doc_id, version=version, at=at, actor=user)
    return ValidationReportOut.model_validate(report)
