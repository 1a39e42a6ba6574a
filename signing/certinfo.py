"""Who a certificate names and for how long it is valid, as plain data for reports."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509


@dataclass(frozen=True)
class CertificateInfo:
    common_name: str | None
    organisation: str | None
    organisational_unit: str | None
    title: str | None
    subject: str
    issuer: str
    issuer_common_name: str | None
    serial_number: str
    not_before: datetime
    not_after: datetime
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["not_before"] = self.not_before.isoformat()
        data["not_after"] = self.not_after.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CertificateInfo:
        values = {f: data[f] for f in cls.__dataclass_fields__}
        values["not_before"] = datetime.fromisoformat(data["not_before"])
        values["not_after"] = datetime.fromisoformat(data["not_after"])
        return cls(**values)


def _attr(name: x509.Name, key: str) -> str | None:
    value = name.native.get(key)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return None if value is None else str(value)


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    validity = cert["tbs_certificate"]["validity"]
    return CertificateInfo(
        common_name=_attr(cert.subject, "common_name"),
        organisation=_attr(cert.subject, "organization_name"),
        organisational_unit=_attr(cert.subject, "organizational_unit_name"),
        title=_attr(cert.subject, "title"),
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        issuer_common_name=_attr(cert.issuer, "common_name"),
        serial_number=format(cert.serial_number, "x"),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        sha256=hashlib.sha256(cert.dump()).hexdigest(),
    )
