"""TSA clients, document timestamps (long-term upkeep) and what the newest one protects; RFC 3161 timestamp tokens
over a bare digest (the audit trail's anchors): requesting one and reading what it says."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from asn1crypto import cms, tsp, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from ._runtime import quiet_pyhanko_logs, run_sync
from .errors import InvalidDocument, SigningError, TimestampUnavailable, translate_errors
from .pdf_io import existing_signature_names, open_for_update, unique_field_name
from .trust import PathLike, load_certificates

_timestampers: dict[str, HTTPTimeStamper] = {}
_lock = threading.Lock()


def timestamper_for(url: str) -> HTTPTimeStamper:
    # one per URL: pyHanko caches its dummy response (used to size the placeholder) on the instance
    with _lock:
        ts = _timestampers.get(url)
        if ts is None:
            ts = _timestampers[url] = HTTPTimeStamper(url, timeout=20)
        return ts


def signing_validation_context(trust_roots, *, allow_fetching: bool = True) -> ValidationContext:
    # "require": a B-LT/B-LTA file without revocation data for every certificate is useless for the archive
    return ValidationContext(
        trust_roots=load_certificates(trust_roots), allow_fetching=allow_fetching, revocation_mode="require"
    )


async def _validation_paths_of_every_signature(
    writer: IncrementalPdfFileWriter, vc: ValidationContext
) -> list:
    # validation data for every earlier signer and timestamp, not only the newest one
    paths = []
    for sig in writer.prev.embedded_signatures:
        paths.extend(await collect_validation_info(sig, vc))
    return paths


async def async_add_document_timestamp(
    pdf_bytes: bytes, timestamper: HTTPTimeStamper, vc: ValidationContext, field_name: str | None = None
) -> bytes:
    writer = open_for_update(pdf_bytes)
    existing = existing_signature_names(writer.prev)  # also: unreadable signature fields are InvalidDocument
    name = field_name or unique_field_name(existing, "DocTimeStamp")
    out = await PdfTimeStamper(timestamper, field_name=name).async_timestamp_pdf(
        writer,
        "sha256",
        validation_context=vc,
        validation_paths=await _validation_paths_of_every_signature(writer, vc),
        dss_settings=TimestampDSSContentSettings(update_before_ts=True, include_vri=False),
    )
    return out.getvalue()


def add_document_timestamp(
    pdf_bytes: bytes,
    *,
    tsa_url: str,
    trust_roots: Sequence[PathLike] = (),
    allow_fetching: bool = True,
) -> bytes:
    """Add fresh validation data (DSS) for every signature and timestamp, then a document timestamp over it all.

    This is the long-term upkeep step: run it before the newest document timestamp's certificate expires or its
    algorithm weakens (see :func:`newest_document_timestamp`).
    """
    quiet_pyhanko_logs()
    vc = signing_validation_context(trust_roots, allow_fetching=allow_fetching)

    async def run() -> bytes:
        try:
            return await async_add_document_timestamp(pdf_bytes, timestamper_for(tsa_url), vc)
        finally:
            await vc.aclose()

    with translate_errors():
        return run_sync(run())


@dataclass(frozen=True)
class DocumentTimestampInfo:
    field_name: str
    time: datetime
    tsa: str
    certificate_not_after: datetime
    digest_algorithm: str
    signature_algorithm: str


def newest_document_timestamp(pdf_bytes: bytes) -> DocumentTimestampInfo | None:
    """The newest document timestamp's time, TSA certificate expiry and algorithms; ``None`` when there is none."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        stamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    except Exception as exc:
        raise InvalidDocument(f"cannot read PDF: {exc}") from exc
    if not stamps:
        return None
    newest = max(stamps, key=lambda s: s.signed_revision)
    try:
        tst_info = tsp.TSTInfo.load(newest.signed_data["encap_content_info"]["content"].parsed.dump())
        cert = newest.signer_cert
        return DocumentTimestampInfo(
            field_name=newest.field_name,
            time=tst_info["gen_time"].native,
            tsa=cert.subject.human_friendly,
            certificate_not_after=cert["tbs_certificate"]["validity"]["not_after"].native,
            digest_algorithm=newest.signer_info["digest_algorithm"]["algorithm"].native,
            signature_algorithm=newest.signer_info["signature_algorithm"].signature_algo,
        )
    except Exception as exc:
        raise SigningError(f"cannot read document timestamp {newest.field_name}: {exc}") from exc


async def async_add_validation_data(pdf_bytes: bytes, vc: ValidationContext) -> bytes:
    """One incremental update with a DSS holding validation data for every signature and timestamp (B-LT)."""
    writer = open_for_update(pdf_bytes)
    paths = await _validation_paths_of_every_signature(writer, vc)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=paths, validation_context=vc)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- RFC 3161 tokens over a digest ---------------------------------------------------------------------------------
def request_timestamp(tsa_url: str, digest: bytes) -> bytes:
    """DER of the TSA's timestamp token (a CMS ContentInfo) over a SHA-256 digest.

    TimestampUnavailable when none can be had now, its cause the underlying failure."""

    async def stamp() -> bytes:
        async with aiohttp.ClientSession() as http:
            token = await HTTPTimeStamper(tsa_url, session=http, timeout=30).async_timestamp(digest, "sha256")
        return bytes(token.dump())

    try:
        return run_sync(stamp())
    except Exception as exc:  # network and TSA errors of several libraries: all mean "no timestamp now"
        raise TimestampUnavailable(f"no timestamp from the TSA {tsa_url}: {exc}") from exc


@dataclass(frozen=True)
class TokenFacts:
    imprint: bytes  # the digest the TSA stamped
    gen_time: datetime
    intact: bool  # the TSA's signature holds (and chains to the trust roots, when some were given)


def read_token(token_der: bytes, trust_roots: list[bytes] | None = None) -> TokenFacts:
    """What a timestamp token says. `trust_roots`: DER certificates the TSA must chain to; without them only the
    signature is checked. A malformed token raises whatever the parser raises."""
    info = cms.ContentInfo.load(token_der)
    signed = info["content"]
    tst = signed["encap_content_info"]["content"].parsed
    imprint = bytes(tst["message_imprint"]["hashed_message"].native)
    vc = None
    if trust_roots:
        vc = ValidationContext(trust_roots=[x509.Certificate.load(r) for r in trust_roots])
    status = run_sync(validate_tst_signed_data(signed, vc, lambda _algo: imprint))
    # without configured trust roots only the signature is checked (the chain cannot be built: that is expected)
    trusted = vc is None or status.get("trust_problem_indic") is None
    intact = bool(status["intact"] and status["valid"]) and trusted
    return TokenFacts(imprint, tst["gen_time"].native, intact)
