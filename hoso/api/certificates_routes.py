"""A person's signing certificates (issue 10, item 1): register, list, remove.

The person manages their own; a school administrator or the system administrator manages them for the accounts
they may manage (archive/account_rules.py). Checks and refusals are archive/certificates.py's; every answer here is
the same for the API, the account page and the command line.
"""

from __future__ import annotations

from asn1crypto import x509
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import object_session

from archive import certificates
from archive.chain_models import SigningCertificate
from archive.context import Archive
from archive.errors import StorageDown
from archive.models import User
from archive.signing_setup import SigningSetup
from hoso.api.deps import ArchiveDep, GuardDep
from hoso.api.schemas import Timestamp

router = APIRouter(tags=["people"])


class CertificateIn(BaseModel):
    certificate: str = Field(
        max_length=certificates.MAX_CERTIFICATE_BYTES,
        description="The certificate as PEM (optionally followed by its chain) or base64 of the DER",
    )


class CertificateOut(BaseModel):
    id: int
    username: str = Field(description="Whose certificate it is")
    common_name: str = Field(description="The name the certificate gives its holder")
    subject: str = Field(description="Who the certificate names")
    issuer_common_name: str = Field(description="The issuing certification authority's name")
    issuer: str = Field(description="The certification authority that issued it")
    serial: str = Field(description="Serial number (hexadecimal)")
    not_before: Timestamp = Field(description="Valid from")
    not_after: Timestamp = Field(description="Valid until")
    sha256: str = Field(description="SHA-256 of the DER: how a signature's certificate is matched")
    check: str = Field(description="What the registration check found (revocation good / unreachable)")
    added_by: str | None = Field(description="Who registered it (None: the server's operator)")
    added_at: Timestamp

    @classmethod
    def of(cls, row: SigningCertificate) -> CertificateOut:
        added_by = row.added_by_id and _username(row)
        cert = x509.Certificate.load(row.der)
        return cls(
            id=row.id,
            username=row.user.username,
            common_name=_cn(cert.subject) or row.subject,
            subject=row.subject,
            issuer_common_name=_cn(cert.issuer) or row.issuer,
            issuer=row.issuer,
            serial=row.serial,
            not_before=row.not_before.isoformat(),
            not_after=row.not_after.isoformat(),
            sha256=row.sha256,
            check=row.check,
            added_by=added_by or None,
            added_at=row.added_at.isoformat(),
        )


def _cn(name: x509.Name) -> str:
    value = name.native.get("common_name")
    return ", ".join(value) if isinstance(value, list) else str(value or "")


def _username(row: SigningCertificate) -> str | None:
    session = object_session(row)
    by = session.get(User, row.added_by_id) if session is not None and row.added_by_id else None
    return by.username if by is not None else None


def signing_setup_of(archive: Archive) -> SigningSetup:
    if archive.signing is None:
        raise StorageDown(
            "Máy chủ này chưa được cấu hình ký số nên không kiểm tra được chứng thư số",
            "This server has no signing setup: certificates cannot be checked",
            code="signing_unavailable",
        )
    return archive.signing.setup


@router.post(
    "/users/{username}/certificates",
    status_code=201,
    summary="Register a signing certificate to a person (checked: validity, key usage, trust, revocation)",
    responses={
        409: {"description": "certificate_taken: registered to another person"},
        422: {
            "description": "bad_certificate, certificate_expired, certificate_not_yet_valid, certificate_key_usage,"
            " certificate_untrusted, certificate_revoked"
        },
    },
)
def add_certificate(
    username: str, body: CertificateIn, guard: GuardDep, archive: ArchiveDep
) -> CertificateOut:
    setup = signing_setup_of(archive)
    with archive.sessions() as session:
        actor = session.merge(guard.user, load=True)
        owner = certificates.account_for(session, actor, username, scopes=guard.scopes)
        row = certificates.register_certificate(
            session, setup, actor=actor, owner=owner, data=body.certificate
        )
        return CertificateOut.of(row)


@router.get("/users/{username}/certificates", summary="A person's registered signing certificates")
def list_certificates(username: str, guard: GuardDep, archive: ArchiveDep) -> list[CertificateOut]:
    with archive.sessions() as session:
        actor = session.merge(guard.user, load=True)
        owner = certificates.account_for(session, actor, username, scopes=guard.scopes)
        return [CertificateOut.of(r) for r in certificates.certificates_of(session, owner)]


@router.delete(
    "/users/{username}/certificates/{certificate_id}",
    status_code=204,
    summary="Remove a registered certificate (it can no longer sign; past signatures keep their record)",
)
def remove_certificate(username: str, certificate_id: int, guard: GuardDep, archive: ArchiveDep) -> Response:
    with archive.sessions() as session, session.begin():
        actor = session.merge(guard.user, load=True)
        owner = certificates.account_for(session, actor, username, scopes=guard.scopes)
        certificates.remove_certificate(session, actor=actor, owner=owner, certificate_id=certificate_id)
    return Response(status_code=204)
