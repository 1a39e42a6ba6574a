"""Signing certificates registered to a person's account. hoso accepts a personal signature only with one of the
signer's own registered certificates (the certificate is the identity; the account says who holds it)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from .chain_models import SigningCertificate


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
