"""Deferred (two-step) signing: the person's key never leaves their USB token.

1. The server calls :func:`prepare_deferred` with the person's certificate. The document gets its signature field and a
   placeholder; the result holds what the token must sign and a :class:`DeferredState` the archive persists
   (JSON-safe: the prepared bytes, the DER of the signed attributes, the byte-range numbers — pyHanko's
   ``post_sign_instructions`` do not survive serialisation, so the B-LT/B-LTA steps are redone at finish time).
2. The signer's machine signs the signed attributes (``hoso sign-digest``, see :mod:`signing.digest_signing`).
3. The server calls :func:`finish_deferred`: the value is verified against the certificate *before* it is embedded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms, x509
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ._runtime import quiet_pyhanko_logs, run_sync
from .appearance import Appearance
from .errors import (
    CertificateRejected,
    InvalidDeferredState,
    SignatureMismatch,
    SigningError,
    translate_errors,
)
from .levels import SignatureLevel, resolve_level
from .pdf_io import existing_signature_names, open_for_update, unique_field_name
from .sign import FixedTimePdfSigner, check_certificate_period, signature_field_spec
from .timestamps import (
    async_add_document_timestamp,
    async_add_validation_data,
    signing_validation_context,
    timestamper_for,
)
from .trust import PathLike, load_certificates, parse_certificates

STATE_VERSION = 1
DIGEST_ALGORITHM = "sha256"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except Exception as exc:
        raise InvalidDeferredState(f"{what} is not valid base64") from exc


@dataclass(frozen=True)
class DeferredState:
    """Everything :func:`finish_deferred` needs; persist it with :meth:`to_json` / :meth:`to_bytes`."""

    prepared_pdf: bytes
    signed_attributes: bytes
    reserved_region_start: int
    reserved_region_end: int
    document_digest: bytes
    certificate: bytes
    chain: tuple[bytes, ...]
    level: str
    tsa_url: str | None
    field_name: str
    version: int = STATE_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "prepared_pdf": _b64(self.prepared_pdf),
            "signed_attributes": _b64(self.signed_attributes),
            "reserved_region_start": self.reserved_region_start,
            "reserved_region_end": self.reserved_region_end,
            "document_digest": _b64(self.document_digest),
            "certificate": _b64(self.certificate),
            "chain": [_b64(c) for c in self.chain],
            "level": self.level,
            "tsa_url": self.tsa_url,
            "field_name": self.field_name,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_bytes(self) -> bytes:
        return self.to_json().encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeferredState:
        if not isinstance(data, dict):
            raise InvalidDeferredState("deferred state must be a JSON object")
        try:
            if data.get("version") != STATE_VERSION:
                raise InvalidDeferredState(f"unsupported deferred state version {data.get('version')!r}")
            return cls(
                prepared_pdf=_unb64(data["prepared_pdf"], "prepared_pdf"),
                signed_attributes=_unb64(data["signed_attributes"], "signed_attributes"),
                reserved_region_start=int(data["reserved_region_start"]),
                reserved_region_end=int(data["reserved_region_end"]),
                document_digest=_unb64(data["document_digest"], "document_digest"),
                certificate=_unb64(data["certificate"], "certificate"),
                chain=tuple(_unb64(c, "chain") for c in data.get("chain", [])),
                level=str(SignatureLevel.parse(str(data["level"]))),
                tsa_url=None if data.get("tsa_url") is None else str(data["tsa_url"]),
                field_name=str(data["field_name"]),
            )
        except InvalidDeferredState:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDeferredState(f"deferred state is incomplete or damaged: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> DeferredState:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidDeferredState("deferred state is not JSON") from exc
        return cls.from_dict(data)

    from_bytes = from_json


@dataclass(frozen=True)
class DeferredRequest:
    """What the signer's token must sign, and the state the archive keeps until the signature comes back."""

    data_to_sign: bytes  # DER of the CMS signed attributes; the token hashes it with SHA-256 and signs
    digest: bytes  # SHA-256(data_to_sign), for tokens or services that sign a digest
    digest_algorithm: str
    signature_algorithm: str
    certificate: bytes
    state: DeferredState

    def to_request_dict(self) -> dict[str, Any]:
        """The JSON the server hands to ``hoso sign-digest`` on the signer's machine (no document bytes)."""
        return {
            "version": STATE_VERSION,
            "type": "hoso-sign-request",
            "field_name": self.state.field_name,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "signed_attributes": _b64(self.data_to_sign),
            "digest": _b64(self.digest),
            "certificate": _b64(self.certificate),
            "certificate_sha256": hashlib.sha256(self.certificate).hexdigest(),
        }

    def to_request_json(self) -> str:
        return json.dumps(self.to_request_dict(), indent=2)


def _as_certificate(cert: bytes | str | Path | x509.Certificate) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    try:
        certs = parse_certificates(cert) if isinstance(cert, bytes) else load_certificates([cert])
    except SigningError as exc:
        raise CertificateRejected(f"the signer's certificate cannot be read: {exc}") from exc
    if not certs:
        raise CertificateRejected("no certificate given")
    return certs[0]


def _signature_algorithm(cert: x509.Certificate) -> str:
    return f"{DIGEST_ALGORITHM}_{'ecdsa' if cert.public_key.algorithm == 'ec' else 'rsa'}"


def _placeholder_size(cert: x509.Certificate) -> int:
    if cert.public_key.algorithm == "ec":
        return 2 * ((cert.public_key.bit_size + 7) // 8) + 9  # DER ECDSA-Sig-Value upper bound
    return (cert.public_key.bit_size + 7) // 8


def prepare_deferred(
    pdf_bytes: bytes,
    cert: bytes | str | Path | x509.Certificate,
    *,
    chain: Sequence[PathLike | x509.Certificate] = (),
    level: str | SignatureLevel | None = None,
    tsa_url: str | None = None,
    appearance: Appearance | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    check_certificate: bool = True,
) -> DeferredRequest:
    """Prepare ``pdf_bytes`` for a signature by the holder of ``cert``; nothing secret is involved."""
    quiet_pyhanko_logs()
    signing_cert = _as_certificate(cert)
    chain_certs = load_certificates(chain)
    lvl = resolve_level(level, tsa_url)
    signing_time = datetime.now(UTC).replace(microsecond=0)
    if check_certificate:
        check_certificate_period(signing_cert, signing_time)
    ext = signers.ExternalSigner(
        signing_cert,
        SimpleCertificateStore.from_certs([signing_cert, *chain_certs]),
        signature_value=_placeholder_size(signing_cert),
    )

    async def run() -> DeferredRequest:
        writer = open_for_update(pdf_bytes)
        existing = existing_signature_names(writer.prev)
        name = field_name or unique_field_name(existing, "Signature")
        field_spec, style = signature_field_spec(
            writer, name, appearance or Appearance.invisible(), signing_time, lock=False
        )
        meta = signers.PdfSignatureMetadata(
            field_name=name,
            md_algorithm=DIGEST_ALGORITHM,
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        pdf_signer = FixedTimePdfSigner(
            meta,
            signer=ext,
            # given so the placeholder leaves room for the signature timestamp added at finish time
            timestamper=timestamper_for(tsa_url) if tsa_url and lvl.needs_tsa else None,
            stamp_style=style,
            new_field_spec=field_spec,
            signing_time=signing_time,
        )
        prep, _tbs, output = await pdf_signer.async_digest_doc_for_signing(writer)
        signed_attrs = await ext.signed_attrs(prep.document_digest, DIGEST_ALGORITHM, use_pades=True)
        data_to_sign = signed_attrs.dump()
        state = DeferredState(
            prepared_pdf=_read_all(output),
            signed_attributes=data_to_sign,
            reserved_region_start=prep.reserved_region_start,
            reserved_region_end=prep.reserved_region_end,
            document_digest=prep.document_digest,
            certificate=signing_cert.dump(),
            chain=tuple(c.dump() for c in chain_certs),
            level=str(lvl),
            tsa_url=tsa_url,
            field_name=name,
        )
        return DeferredRequest(
            data_to_sign=data_to_sign,
            digest=hashlib.sha256(data_to_sign).digest(),
            digest_algorithm=DIGEST_ALGORITHM,
            signature_algorithm=_signature_algorithm(signing_cert),
            certificate=signing_cert.dump(),
            state=state,
        )

    with translate_errors():
        return run_sync(run())


def verify_signature_value(cert_der: bytes, data: bytes, signature: bytes) -> None:
    """Raise :class:`SignatureMismatch` unless ``signature`` is ``cert``'s key signing ``data`` with SHA-256."""
    from cryptography import x509 as cx509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    try:
        cert = cx509.load_der_x509_certificate(cert_der)
    except ValueError as exc:
        raise InvalidDeferredState(f"the certificate in the deferred state is damaged: {exc}") from exc
    public_key = cert.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise SignatureMismatch(f"unsupported key type {type(public_key).__name__}")
    except InvalidSignature:
        raise SignatureMismatch(
            f"the returned signature does not match the certificate of {cert.subject.rfc4514_string()}: it was made with another key "
            "or over other data; nothing was embedded"
        ) from None


def _signature_from(value: bytes | str | dict[str, Any]) -> bytes:
    if isinstance(value, bytes):
        return value
    data = value
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError:
            return _unb64(value, "signature")
    if not isinstance(data, dict) or "signature" not in data:
        raise SignatureMismatch("signature response has no 'signature' field")
    return _unb64(data["signature"], "signature")


def finish_deferred(
    state: DeferredState | str | bytes,
    signature_value: bytes | str | dict[str, Any],
    *,
    trust_roots: Sequence[PathLike | x509.Certificate] = (),
    tsa_url: str | None = None,
) -> bytes:
    """Verify ``signature_value`` (raw bytes, base64, or the JSON from ``sign-digest``) and embed it.

    Returns the signed PDF at the level chosen in :func:`prepare_deferred` (B-LT/B-LTA steps are done here, which
    needs ``trust_roots`` and the TSA).
    """
    quiet_pyhanko_logs()
    if not isinstance(state, DeferredState):
        state = DeferredState.from_json(state)
    signature = _signature_from(signature_value)
    verify_signature_value(state.certificate, state.signed_attributes, signature)
    _check_state_consistency(state)
    url = tsa_url or state.tsa_url
    lvl = resolve_level(state.level, url)
    try:
        cert = parse_certificates(state.certificate)[0]
        chain = [c for der in state.chain for c in parse_certificates(der)]
    except (SigningError, IndexError) as exc:
        raise InvalidDeferredState(f"the certificates in the deferred state are damaged: {exc}") from exc
    ext = signers.ExternalSigner(
        cert, SimpleCertificateStore.from_certs([cert, *chain]), signature_value=signature
    )
    vc = signing_validation_context(trust_roots) if lvl.embeds_validation_data else None

    async def run() -> bytes:
        try:
            timestamper = timestamper_for(url) if url and lvl.needs_tsa else None
            sig_cms = await ext.async_sign_prescribed_attributes(
                DIGEST_ALGORITHM, cms.CMSAttributes.load(state.signed_attributes), timestamper=timestamper
            )
            output = io.BytesIO(state.prepared_pdf)
            prep = PreparedByteRangeDigest(
                state.document_digest, state.reserved_region_start, state.reserved_region_end
            )
            await PdfTBSDocument.async_finish_signing(output, prep, sig_cms)
            data = output.getvalue()
            if lvl is SignatureLevel.B_LTA:
                assert timestamper is not None and vc is not None
                data = await async_add_document_timestamp(data, timestamper, vc)
            elif lvl is SignatureLevel.B_LT:
                assert vc is not None
                data = await async_add_validation_data(data, vc)
            return data
        finally:
            if vc is not None:
                await vc.aclose()

    with translate_errors():
        return run_sync(run())


def _check_state_consistency(state: DeferredState) -> None:
    # A state edited after preparation would embed a valid signature over a different document.
    from pyhanko.sign.general import find_unique_cms_attribute

    pdf = state.prepared_pdf
    start, end = state.reserved_region_start, state.reserved_region_end
    if not (0 < start < end <= len(pdf)):
        raise InvalidDeferredState("byte range of the deferred state does not fit the prepared document")
    digest = hashlib.sha256()
    digest.update(memoryview(pdf)[:start])
    digest.update(memoryview(pdf)[end:])
    if digest.digest() != state.document_digest:
        raise InvalidDeferredState("prepared document does not match its recorded digest")
    attrs = cms.CMSAttributes.load(state.signed_attributes)
    if find_unique_cms_attribute(attrs, "message_digest").native != state.document_digest:
        raise InvalidDeferredState("signed attributes do not cover the prepared document")


def _read_all(stream) -> bytes:
    stream.seek(0)
    return stream.read()
