"""`remote_signing_accounts`: a person's account at a remote-signing service (CSC API v2), linked once.

The row names the provider (a key of Settings.remote_signing_providers) and the credential there, and points at the
certificate that linking registered to the person (archive.certificates): a remote signature is checked against it
like any other. No token is stored: each signing is confirmed anew in the provider's own flow.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .chain_models import SigningCertificate
from .db import utcnow
from .models import Base


class RemoteSigningAccount(Base):
    __tablename__ = "remote_signing_accounts"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "provider", "credential_id", name="uq_remote_signing_accounts_credential"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    credential_id: Mapped[str] = mapped_column(String(200))
    key_algorithm: Mapped[str] = mapped_column(String(64))  # OID the provider gave for the key
    certificate_id: Mapped[int] = mapped_column(ForeignKey("signing_certificates.id"))
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(
        Text, default=""
    )  # the CA certificates the provider gave, base64 DER, commas
    label: Mapped[str] = mapped_column(String(300))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    certificate: Mapped[SigningCertificate] = relationship()
