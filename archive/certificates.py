"""Signing certificates registered to a person's account. hoso accepts a personal signature only with one of the
signer's own registered certificates (the certificate is the identity; the account says who holds it).

`certificate_der` is the one reader of a certificate someone hands in (a PEM file or text, base64 of the DER, or the
DER bytes of a .cer/.crt file): the API, the pages and the command line all call it.

Registering (`register_certificate`) checks the certificate first (signing.certcheck: validity now, key usage, a path
to one of the archive's trust roots, not revoked where revocation data is reachable) and refuses one already held by
another account (one certificate, one person). The person registers their own; anyone else needs the account rule of
archive/account_rules.py (a school administrator for the people of their school, the system administrator). Every
registration, removal and refusal is an audit event. Removal is soft (`removed_at`): signatures made with the
certificate keep their record of whose it was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pem, x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing.certcheck import CertificateCheck, check_signing_certificate
from signing.errors import SigningError
from signing.trust import load_certificates

from . import account_rules
from .chain_models import SigningCertificate
from .db import utcnow
from .errors import ArchiveError, Conflict, InvalidInput, NotFound
from .events import record_event
from .models import User
from .signing_setup import SigningSetup, dev_pki_served

MAX_CERTIFICATE_BYTES = 64 * 1024  # a certificate with its chain is a few kB; more is not a certificate

# why a certificate is refused → (code, Vietnamese, English)
REFUSALS: dict[str, tuple[str, str, str]] = {
    "expired": (
        "certificate_expired",
        "Chứng thư số đã hết hạn",
        "The certificate has expired",
    ),
    "not_yet_valid": (
        "certificate_not_yet_valid",
        "Chứng thư số chưa đến ngày có hiệu lực",
        "The certificate is not valid yet",
    ),
    "key_usage": (
        "certificate_key_usage",
        "Chứng thư số không dùng để ký số (thiếu mục đích digitalSignature hoặc nonRepudiation)",
        "The certificate is not for signing (key usage lacks digitalSignature and nonRepudiation)",
    ),
    "untrusted": (
        "certificate_untrusted",
        "Chứng thư số không do một tổ chức cung cấp dịch vụ chứng thực được tin cậy cấp",
        "The certificate does not chain to a trusted root",
    ),
    "revoked": (
        "certificate_revoked",
        "Chứng thư số đã bị thu hồi",
        "The certificate has been revoked",
    ),
}


def _unreadable() -> InvalidInput:
    return InvalidInput(
        "Chứng thư số không đọc được. Hãy chọn tệp chứng thư (.pem, .cer hoặc .crt) xuất từ USB token của bạn.",
        "Unreadable certificate (PEM, base64 DER or DER expected)",
        code="bad_certificate",
    )


def _certificates(data: bytes | str) -> list[x509.Certificate]:
    """Every certificate handed in: a PEM bundle (the person's certificate first, then its chain), base64 of the
    DER (text), or DER bytes. Fully parsed here: a truncated file fails now, not while signing."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_CERTIFICATE_BYTES:
        raise _unreadable()
    try:
        if pem.detect(raw):
            ders = [der for kind, _, der in pem.unarmor(raw.strip(), multiple=True) if kind == "CERTIFICATE"]
        elif raw[:1] == b"\x30":  # a DER SEQUENCE: a .cer/.crt file as exported
            ders = [raw]
        else:
            ders = [base64.b64decode(b"".join(raw.split()), validate=True)]
        certs = [x509.Certificate.load(bytes(der)) for der in ders]
        if not certs:
            raise ValueError("no certificate")
        for cert in certs:
            _ = (cert.native, cert.public_key.native)  # asn1crypto parses lazily: find damage here
    except (ValueError, TypeError, binascii.Error, KeyError):
        raise _unreadable() from None
    return certs


def certificate_der(data: bytes | str) -> bytes:
    """A certificate handed in (PEM, base64 DER or DER; bytes or text) → the DER of the person's certificate (the
    first of a bundle); unreadable is a bilingual 422 `bad_certificate`."""
    return bytes(_certificates(data)[0].dump())


def registered_certificate(
    session: Session, user_id: int, certificate_der: bytes
) -> SigningCertificate | None:
    """The person's registered (not removed) certificate with these bytes, if any."""
    digest = hashlib.sha256(certificate_der).hexdigest()
    return session.scalar(
        select(SigningCertificate).where(
            SigningCertificate.user_id == user_id,
            SigningCertificate.sha256 == digest,
            SigningCertificate.removed_at.is_(None),
        )
    )


def certificates_of(session: Session, user: User) -> list[SigningCertificate]:
    """The person's registered certificates (removed ones left out), newest first."""
    return list(
        session.scalars(
            select(SigningCertificate)
            .where(SigningCertificate.user_id == user.id, SigningCertificate.removed_at.is_(None))
            .order_by(SigningCertificate.added_at.desc(), SigningCertificate.id.desc())
        )
    )


def account_for(
    session: Session, actor: User, username: str, *, scopes: frozenset[str] | None = None
) -> User:
    """The account whose certificates `actor` acts on: their own, or one they may manage (account_rules)."""
    if username == actor.username:
        return actor
    return account_rules.managed_account(session, actor, username, scopes=scopes)


@dataclass(frozen=True)
class TrustMaterial:
    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate]


def trust_material(setup: SigningSetup) -> TrustMaterial:
    """The archive's trust roots, and the intermediate CAs it knows (the dev PKI's: its personal certificates chain
    through it). A person may also hand in their chain with their certificate (a PEM bundle)."""
    roots = load_certificates(setup.trust_roots)
    intermediates = load_certificates([setup.dev_pki.interm_cert]) if setup.dev_pki is not None else []
    return TrustMaterial(roots, intermediates)


def check_certificate(
    setup: SigningSetup, certs: list[x509.Certificate], *, at: datetime | None = None
) -> CertificateCheck:
    """The registration check of certs[0] (the rest: its chain as handed in). Runs with no database work open: it
    may ask OCSP responders and CRL servers over the network."""
    trust = trust_material(setup)
    with dev_pki_served(setup):  # a command-line run answers the dev PKI's OCSP/CRL itself
        return check_signing_certificate(
            certs[0], trust.roots, other_certs=[*certs[1:], *trust.intermediates], at=at
        )


def _refusal(check: CertificateCheck) -> ArchiveError:
    code, vi, en = REFUSALS[check.outcome]
    when = {
        "expired": (
            f" (hết hạn ngày {check.info.not_after:%d/%m/%Y})",
            f" (on {check.info.not_after:%Y-%m-%d})",
        ),
        "not_yet_valid": (
            f" (có hiệu lực từ ngày {check.info.not_before:%d/%m/%Y})",
            f" (from {check.info.not_before:%Y-%m-%d})",
        ),
    }.get(check.outcome, ("", ""))
    return InvalidInput(vi + when[0], en + when[1], code=code)


def _taken() -> Conflict:
    return Conflict(
        "Chứng thư số này đã được đăng ký cho một tài khoản khác: mỗi chứng thư chỉ thuộc về một người",
        "This certificate is registered to another account: one certificate, one person",
        code="certificate_taken",
    )


def register_certificate(
    session: Session,
    setup: SigningSetup,
    *,
    actor: User | None,
    owner: User,
    data: bytes | str,
    at: datetime | None = None,
) -> SigningCertificate:
    """Check and register a certificate to `owner` (actor None: the server's operator on the command line; the
    caller has checked that `actor` may act on `owner`, see `account_for`).

    Commits `session`: the network check runs outside any transaction, then either the registration or the
    refusal's audit event is committed (a refusal raises after its event is stored)."""
    detail: dict[str, object] = {"username": owner.username}
    owner_id, owner_org = owner.id, owner.organisation_id
    try:
        certs = _certificates(data)
        der = bytes(certs[0].dump())
        digest = hashlib.sha256(der).hexdigest()
        detail["sha256"] = digest
        _check_holder(session, digest, owner_id)
        if session.in_transaction():
            session.commit()  # no transaction stays open while OCSP responders and CRL servers are asked
        try:
            check = check_certificate(setup, certs, at=at)
        except SigningError as exc:  # a trust root file that cannot be read: the server's configuration
            raise InvalidInput(
                "Không kiểm tra được chứng thư số: cấu hình chứng thư gốc của hệ thống có lỗi",
                f"Cannot check the certificate: {exc}",
                code="certificate_check_failed",
                status=503,
            ) from None
        detail |= {"subject": check.info.subject, "serial": check.info.serial_number}
        if not check.ok:
            detail["detail"] = check.detail[:500]
            raise _refusal(check)
        try:
            with session.begin():
                holder = _check_holder(session, digest, owner_id)  # again: someone may have been quicker
                row = holder or SigningCertificate(user_id=owner_id, sha256=digest, der=der)
                row.subject = check.info.subject[:500]
                row.issuer = check.info.issuer[:500]
                row.serial = check.info.serial_number[:100]
                row.not_before = check.info.not_before
                row.not_after = check.info.not_after
                row.check = check.summary()[:1000]
                row.added_by_id = actor.id if actor is not None else None
                row.added_at = utcnow()
                row.removed_at = None  # the same person registering a removed certificate again
                session.add(row)
                session.flush()
                record_event(
                    session,
                    "certificate.added",
                    actor=actor,
                    organisation_id=owner_org,
                    detail=detail | {"id": row.id, "revocation": check.revocation},
                )
        except IntegrityError:  # a concurrent registration of the same certificate won
            raise _taken() from None
    except ArchiveError as exc:
        session.rollback()
        with session.begin():
            record_event(
                session,
                "certificate.refused",
                actor=actor,
                organisation_id=owner_org,
                outcome="refused",
                detail=detail | {"error": exc.code},
            )
        raise
    return row


def _check_holder(session: Session, digest: str, owner_id: int) -> SigningCertificate | None:
    """The row of this certificate if it is the owner's removed one; refuses one held by anyone else, or already
    registered to the owner."""
    holder = session.scalar(select(SigningCertificate).where(SigningCertificate.sha256 == digest))
    if holder is None:
        return None
    if holder.user_id != owner_id:
        raise _taken()
    if holder.removed_at is None:
        raise Conflict(
            "Chứng thư số này đã được đăng ký cho tài khoản này rồi",
            "This certificate is already registered to this account",
            code="certificate_already_registered",
        )
    return holder


def remove_certificate(
    session: Session, *, actor: User | None, owner: User, certificate_id: int
) -> SigningCertificate:
    """Soft-remove one of `owner`'s certificates (in the caller's transaction)."""
    row = session.get(SigningCertificate, certificate_id)
    if row is None or row.user_id != owner.id or row.removed_at is not None:
        raise NotFound(
            f"Không tìm thấy chứng thư số {certificate_id} của {owner.username}",
            f"No certificate {certificate_id} of {owner.username}",
            code="certificate_not_found",
        )
    row.removed_at = utcnow()
    record_event(
        session,
        "certificate.removed",
        actor=actor,
        organisation_id=owner.organisation_id,
        detail={"username": owner.username, "id": row.id, "sha256": row.sha256, "serial": row.serial},
    )
    return row


def own_certificate_der(session: Session, user: User, certificate_id: int) -> bytes:
    """The DER of one of the person's registered certificates, picked on a page; 422 `certificate_not_yours` when it
    is not (or no longer) registered to them."""
    found = next((c for c in certificates_of(session, user) if c.id == certificate_id), None)
    if found is None:
        raise InvalidInput(
            "Chứng thư số đã chọn không còn được đăng ký cho tài khoản của bạn.",
            "The chosen certificate is not registered to your account",
            code="certificate_not_yours",
        )
    return bytes(found.der)


def certificate_choices(session: Session, user: User) -> list[dict[str, object]]:
    """The person's registered certificates as the signing pages list them."""
    return [
        {"id": c.id, "sha256": c.sha256, "name": holder_name(c), "subject": c.subject, "issuer": c.issuer,
         "serial": c.serial, "not_after": c.not_after}
        for c in certificates_of(session, user)
    ]  # fmt: skip


def holder_name(row: SigningCertificate) -> str:
    """The certificate's common name, for short labels (the full subject is shown where there is room)."""
    try:
        value = x509.Certificate.load(bytes(row.der)).subject.native.get("common_name")
    except ValueError:
        value = None
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else row.subject
