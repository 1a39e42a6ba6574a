"""Is this certificate fit to sign with, now? The check made when a person registers a signing certificate: validity
now, key usage (digitalSignature or nonRepudiation), a path to a trust root, and not revoked where revocation data
is reachable.

The answer is data (`CertificateCheck`), never an exception: a refused certificate is a normal outcome. Revocation
is first checked strictly (OCSP or CRL must answer); when no revocation data can be reached, the path is validated
again in soft-fail mode and the check says so ("unreachable"), so a school without network access to its CA can
still register a certificate — and the record shows that revocation was not confirmed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from .certinfo import CertificateInfo, certificate_info

SIGNING_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})

# outcomes, in the order they are checked
OK = "ok"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
KEY_USAGE = "key_usage"
UNTRUSTED = "untrusted"
REVOKED = "revoked"


@dataclass(frozen=True)
class CertificateCheck:
    outcome: str  # OK or the first reason it is refused
    info: CertificateInfo
    revocation: str  # "good" (OCSP/CRL answered), "unreachable" (soft-fail), "revoked", "not_checked"
    detail: str = ""  # the validator's own words, for the audit trail

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    def summary(self) -> str:
        """One line for the catalog: what was checked and how it came out."""
        return f"{self.outcome}; revocation {self.revocation}" + (f"; {self.detail}" if self.detail else "")


def _key_usages(cert: x509.Certificate) -> set[str] | None:
    """The key usages the certificate names; None when it has no KeyUsage extension (any use allowed)."""
    value = cert.key_usage_value
    return None if value is None else set(value.native)


def check_signing_certificate(
    cert: x509.Certificate,
    trust_roots: Iterable[x509.Certificate],
    *,
    other_certs: Iterable[x509.Certificate] = (),
    at: datetime | None = None,
    allow_fetching: bool = True,
) -> CertificateCheck:
    moment = at or datetime.now(UTC)
    info = certificate_info(cert)
    if moment < info.not_before:
        return CertificateCheck(NOT_YET_VALID, info, "not_checked")
    if moment > info.not_after:
        return CertificateCheck(EXPIRED, info, "not_checked")
    usages = _key_usages(cert)
    if usages is not None and not usages & SIGNING_KEY_USAGES:
        return CertificateCheck(KEY_USAGE, info, "not_checked", ", ".join(sorted(usages)))
    roots, others = list(trust_roots), list(other_certs)
    outcome, revocation, detail = asyncio.run(_path(cert, roots, others, moment, allow_fetching, "require"))
    if outcome == "no_revinfo":
        outcome, revocation, detail = asyncio.run(
            _path(cert, roots, others, moment, allow_fetching, "soft-fail")
        )
        revocation = "unreachable" if outcome == OK else revocation
    return CertificateCheck(outcome, info, revocation, detail)


async def _path(
    cert: x509.Certificate,
    roots: list[x509.Certificate],
    others: list[x509.Certificate],
    moment: datetime,
    allow_fetching: bool,
    mode: str,
) -> tuple[str, str, str]:
    vc = ValidationContext(
        trust_roots=roots,
        other_certs=others,
        allow_fetching=allow_fetching,
        revocation_mode=mode,
        moment=moment,
    )
    try:
        await CertificateValidator(cert, validation_context=vc).async_validate_path()
        return OK, "good", ""
    except RevokedError as exc:
        return REVOKED, "revoked", exc.failure_msg
    except InsufficientRevinfoError as exc:
        return "no_revinfo", "unreachable", exc.failure_msg
    except ExpiredError as exc:  # an intermediate of the path has expired
        return EXPIRED, "not_checked", exc.failure_msg
    except NotYetValidError as exc:
        return NOT_YET_VALID, "not_checked", exc.failure_msg
    except PathBuildingError as exc:
        return UNTRUSTED, "not_checked", str(exc)
    except (PathValidationError, ValidationError) as exc:
        return UNTRUSTED, "not_checked", exc.failure_msg
    finally:
        await vc.aclose()
