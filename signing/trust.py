"""Loading certificates (trust roots, chains) from files or folders of files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from asn1crypto import pem, x509

from .errors import SigningError

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der", ".cert")

PathLike = str | os.PathLike[str]


def parse_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle or a single DER certificate; :class:`SigningError` when unreadable."""
    try:
        if pem.detect(data):
            certs = [
                x509.Certificate.load(der)
                for kind, _, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"
            ]
        else:
            certs = [x509.Certificate.load(data)]
        for cert in certs:
            _ = cert.native  # asn1crypto parses lazily: find damage here, not halfway through signing
    except (ValueError, TypeError) as exc:
        raise SigningError(f"not a certificate (PEM or DER): {exc}") from exc
    return certs


def load_certificates(paths: Iterable[PathLike | x509.Certificate]) -> list[x509.Certificate]:
    """Certificates from files, folders (every certificate-looking file inside) or certificate objects."""
    certs: list[x509.Certificate] = []
    for item in paths:
        if isinstance(item, x509.Certificate):
            certs.append(item)
            continue
        path = Path(item)
        files = (
            sorted(p for p in path.iterdir() if p.suffix.lower() in CERT_SUFFIXES)
            if path.is_dir()
            else [path]
        )
        for file in files:
            try:
                certs.extend(parse_certificates(file.read_bytes()))
            except (OSError, SigningError) as exc:
                raise SigningError(f"cannot read certificate {file}: {exc}") from exc
    return certs
