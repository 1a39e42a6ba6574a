"""Does a version already carry the school seal? Its validation report lists a signature made with the seal's
certificate (the organisation's server-held key: ArchiveSigning.seal_certificate)."""

from __future__ import annotations

from typing import Any

from archive.context import Archive


def seal_certificate(archive: Archive) -> tuple[str, str] | None:
    """(sha256 of the DER, subject) of the organisation's signing certificate; None when no key is usable."""
    return archive.signing.seal_certificate() if archive.signing is not None else None


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
