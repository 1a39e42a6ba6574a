"""TSA clients, document timestamps (long-term upkeep) and what the newest one protects."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import collect_validation_info
from pyhanko_certvalidator import ValidationContext

from ._runtime import quiet_pyhanko_logs, run_sync
from .errors import InvalidDocument, SigningError
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
    from .sign import translate_errors

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
        from asn1crypto import tsp

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
    from pyhanko.sign.validation import DocumentSecurityStore

    writer = open_for_update(pdf_bytes)
    paths = await _validation_paths_of_every_signature(writer, vc)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=paths, validation_context=vc)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
