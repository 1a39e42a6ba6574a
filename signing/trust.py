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
    """Every certificate in a PEM bundle or a single DER certificate."""
    if pem.detect(data):
        return [
            x509.Certificate.load(der)
            for kind, _, der in pem.unarmor(data, multiple=True)
            if kind == "CERTIFICATE"
        ]
    return [x509.Certificate.load(data)]


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
            except (OSError, ValueError, TypeError) as exc:
                raise SigningError(f"cannot read certificate {file}: {exc}") from exc
    return certs


def cryptography_cert(cert: x509.Certificate):
    from cryptography import x509 as cx509

    return cx509.load_der_x509_certificate(cert.dump())
