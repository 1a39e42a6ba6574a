"""Does a version already carry the school seal? Its validation report lists a signature made with the seal's
certificate (the organisation's server-held key, signatures.setup_of(archive).org_signer)."""

from __future__ import annotations

import hashlib
from typing import Any

from archive import signatures
from archive.context import Archive
from signing import SigningError
from signing.signers import signing_certificate

_CACHE_KEY = "web.seal_certificate"


def seal_certificate(archive: Archive) -> tuple[str, str] | None:
    """(sha256 of the DER, subject) of the organisation's signing certificate; None when no key is usable."""
    cached = archive.extras.get(_CACHE_KEY)
    if isinstance(cached, tuple):
        return cached
    setup = signatures.setup_of(archive)
    if setup.org_signer is None:
        return None
    try:
        cert = signing_certificate(setup.org_signer)
    except (SigningError, OSError, ValueError):
        return None  # a token not plugged in now: do not hide the button, sealing will explain
    found = (hashlib.sha256(cert.dump()).hexdigest(), str(cert.subject.human_friendly))
    archive.extras[_CACHE_KEY] = found
    return found


def carries_seal(archive: Archive, report: dict[str, Any] | None) -> bool:
    if not report or not report.get("signatures"):
        return False
    seal = seal_certificate(archive)
    if seal is None:
        return False
    sha, subject = seal
    for sig in report["signatures"]:
        if sig.get("kind", "signature") != "signature":
            continue  # a document timestamp is not a signature
        cert = sig.get("certificate") or {}
        if cert.get("sha256") == sha or (cert.get("subject") and cert.get("subject") == subject):
            return True
    return False
