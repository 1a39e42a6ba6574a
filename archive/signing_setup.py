"""The archive's signing capabilities, configured once from Settings: where signatures get their timestamp, trust and
the organisation's key (SigningSetup), the dev PKI served for command-line runs, and `ArchiveSigning` — what archive
core, retention and the entry points call to validate, apply the seal and keep B-LTA signatures alive.

It imports only signing/ and the settings, so every layer above can use it (archive.ingest validates a signed upload,
retention renews timestamps) without importing archive.signatures, which itself builds on ingest and documents.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import signing
from signing import SigningError
from signing.signers import SignerConfig, signing_certificate

from .settings import Settings


@dataclass
class SigningSetup:
    """Where signatures get their timestamp, trust and the organisation's key; built once from Settings."""

    tsa_url: str | None
    trust_roots: list[Path]
    org_signer: SignerConfig | None
    default_level: str
    dev_pki: signing.DevPki | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def uses_dev_pki(settings: Settings) -> bool:
    """On the embedded defaults hoso signs, trusts and serves its own test PKI; never in production."""
    return settings.environment == "development"


def signing_setup(settings: Settings) -> SigningSetup:
    dev = None
    org_signer: SignerConfig | None = None
    if settings.signing_p12:
        org_signer = signing.Pkcs12Signer(
            str(settings.signing_p12),
            settings.signing_p12_password.encode() if settings.signing_p12_password else None,
        )
    elif settings.pkcs11_module and settings.pkcs11_token_label and settings.pkcs11_key_label:
        org_signer = signing.Pkcs11Signer(
            settings.pkcs11_module,
            settings.pkcs11_token_label,
            settings.pkcs11_key_label,
            settings.pkcs11_pin,
        )
    if uses_dev_pki(settings):
        dev = signing.ensure_dev_pki(settings.data_dir / "dev-pki", settings.base_url.rstrip("/"))
        if org_signer is None:
            org_signer = signing.Pkcs12Signer(str(dev.seal_p12), dev.p12_password.encode())
    tsa = settings.tsa_url or (dev.tsa_url if dev else None)
    roots = list(settings.trust_root_paths) + (dev.trust_roots if dev else [])
    if settings.environment == "production":
        # the dev PKI is test material: a production configuration must not sign or trust with it
        signing.refuse_test_pki(roots)
    level = settings.default_signature_level or ("B-LTA" if tsa else "B-B")
    return SigningSetup(tsa, roots, org_signer, level, dev)


class ArchiveSigning:
    """Signing as the archive uses it. Lazy: nothing (not even the dev PKI) is set up until first used."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._setup: SigningSetup | None = None
        self._seal: tuple[str, str] | None = None

    @property
    def setup(self) -> SigningSetup:
        if self._setup is None:
            self._setup = signing_setup(self._settings)
        return self._setup

    def seal_certificate(self) -> tuple[str, str] | None:
        """(sha256 of the DER, subject) of the organisation's signing certificate; None when no key is usable now
        (a token not plugged in: the caller should not hide the seal button, sealing itself will explain)."""
        if self._seal is not None:
            return self._seal
        signer = self.setup.org_signer
        if signer is None:
            return None
        try:
            cert = signing_certificate(signer)
        except (SigningError, OSError, ValueError):
            return None
        self._seal = (hashlib.sha256(cert.dump()).hexdigest(), str(cert.subject.human_friendly))
        return self._seal

    def served(self) -> AbstractContextManager[None]:
        """The dev PKI's TSA/OCSP/CRLs answering while signing from a command line (no-op otherwise)."""
        return dev_pki_served(self.setup)

    def validate(self, data: bytes, at: datetime | None = None) -> dict[str, Any]:
        report: dict[str, Any] = signing.validate_pdf(data, self.setup.trust_roots, at=at).to_dict()
        return report

    def sign_org(self, data: bytes) -> bytes:
        """The organisation's (school seal) signature at the default level."""
        setup = self.setup
        if setup.org_signer is None:
            raise SigningError("no organisation signing key is configured")
        with dev_pki_served(setup):
            return signing.sign_pdf(
                data,
                setup.org_signer,
                level=setup.default_level,
                tsa_url=setup.tsa_url,
                trust_roots=setup.trust_roots,
            )

    def lta_inspect(self, data: bytes) -> tuple[datetime | None, str | None]:
        """When the newest document timestamp's certificate expires, and its digest algorithm."""
        info = signing.newest_document_timestamp(data)
        return (info.certificate_not_after, info.digest_algorithm) if info else (None, None)

    def lta_renew(self, data: bytes) -> bytes:
        setup = self.setup
        if not setup.tsa_url:
            raise signing.TimestampUnavailable("no time-stamping authority is configured")
        with dev_pki_served(setup):
            return signing.add_document_timestamp(data, tsa_url=setup.tsa_url, trust_roots=setup.trust_roots)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def dev_pki_served(setup: SigningSetup) -> Iterator[None]:
    """Serve the dev PKI (TSA, OCSP, CRLs) for a command-line run when no `hoso serve` is up at the base URL: the
    dev PKI's certificates point at `{base_url}/dev-pki/…`, and signing at B-T and above needs those URLs to answer."""
    if setup.dev_pki is None:
        yield
        return
    parts = urlsplit(setup.dev_pki.base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if _listening(host, port):
        yield  # a running hoso (or something else we trust to be it) already serves /dev-pki
        return
    from werkzeug.serving import make_server  # only a command-line run that signs needs it

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = signing.dev_pki_wsgi_app(setup.dev_pki.directory, setup.dev_pki.base_url)
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(5)
