"""Server-side PAdES signing (B-B, B-T, B-LT, B-LTA) with keys from PKCS#12 files or PKCS#11 tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko_certvalidator import ValidationContext

from ._runtime import quiet_pyhanko_logs, run_sync
from .appearance import Appearance, resolve_box, stamp_style_for
from .errors import CertificateRejected, InvalidDocument, translate_errors
from .levels import SignatureLevel, resolve_level
from .pdf_io import (
    append_signature_page,
    empty_field_rect,
    existing_signature_names,
    open_for_update,
    page_size,
    unique_field_name,
)
from .signers import SignerConfig, load_signer, signer_lock
from .timestamps import async_add_document_timestamp, signing_validation_context, timestamper_for
from .trust import PathLike


class FixedTimePdfSigner(signers.PdfSigner):
    # The visible text form prints the signing time; pinning pyHanko's clock makes /M say exactly the same.
    def __init__(self, *args, signing_time: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def check_certificate_period(cert: x509.Certificate, at: datetime | None = None) -> None:
    """TT 15/2025: check the certificate before signing. Revocation is checked by pyHanko for B-LT/B-LTA."""
    at = at or datetime.now(UTC)
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    who = cert.subject.human_friendly
    if at < not_before:
        raise CertificateRejected(f"certificate of {who} is not valid before {not_before.isoformat()}")
    if at > not_after:
        raise CertificateRejected(f"certificate of {who} expired on {not_after.isoformat()}")


def sign_pdf(
    pdf_bytes: bytes,
    signer: SignerConfig | signers.Signer,
    *,
    level: str | SignatureLevel | None = None,
    tsa_url: str | None = None,
    trust_roots: Sequence[PathLike | x509.Certificate] = (),
    appearance: Appearance | None = None,
    field_name: str | None = None,
    certify: bool = False,
    reason: str | None = None,
    location: str | None = None,
    check_certificate: bool = True,
) -> bytes:
    """Sign ``pdf_bytes`` in an incremental update and return the new file.

    ``level`` defaults to B-LTA when ``tsa_url`` is given, else B-B. Earlier signatures stay valid; at B-LTA the
    validation data of every earlier signer is embedded too, then one document timestamp covers it all.
    ``certify=True`` locks the document: a DocMDP certification when it is the first signature, otherwise a
    locking approval signature (FieldMDP all + DocMDP "no changes") — a certification must be the first signature
    in PDF, so "certify the final signature" can only be done by locking. LTA upkeep stays allowed either way.
    """
    lvl = resolve_level(level, tsa_url)
    quiet_pyhanko_logs()
    pyhanko_signer = load_signer(signer)
    signing_time = datetime.now(UTC).replace(microsecond=0)
    if check_certificate and pyhanko_signer.signing_cert is not None:
        check_certificate_period(pyhanko_signer.signing_cert, signing_time)
    vc = signing_validation_context(trust_roots) if lvl.embeds_validation_data else None

    async def run() -> bytes:
        try:
            return await _async_sign(
                pdf_bytes,
                pyhanko_signer,
                lvl,
                tsa_url,
                vc,
                appearance or Appearance.invisible(),
                field_name,
                certify,
                reason,
                location,
                signing_time,
            )
        finally:
            if vc is not None:
                await vc.aclose()

    with translate_errors(), signer_lock(pyhanko_signer):
        return run_sync(run())


def signature_field_spec(
    writer: IncrementalPdfFileWriter,
    name: str,
    appearance: Appearance,
    signing_time: datetime,
    lock: bool,
):
    """The new field and its stamp style (``None`` for invisible signatures)."""
    lock_kwargs: dict[str, Any] = (
        {"field_mdp_spec": FieldMDPSpec(FieldMDPAction.ALL), "doc_mdp_update_value": MDPPerm.NO_CHANGES}
        if lock
        else {}
    )
    empty = empty_field_rect(writer, name)
    if empty is not None:
        # an empty signature field already in the file (exports of school software carry them): sign into it
        if not appearance.visible:
            return None, None
        w, h = empty[2] - empty[0], empty[3] - empty[1]
        return None, stamp_style_for(appearance, w, h, signing_time)
    if not appearance.visible:
        return SigFieldSpec(sig_field_name=name, **lock_kwargs), None
    if appearance.new_page_heading:
        append_signature_page(writer, appearance.new_page_heading)
    box = resolve_box(appearance, page_size(writer, appearance.page), signing_time)
    style = stamp_style_for(appearance, box[2] - box[0], box[3] - box[1], signing_time)
    int_box = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
    return SigFieldSpec(sig_field_name=name, on_page=appearance.page, box=int_box, **lock_kwargs), style


async def _async_sign(
    pdf_bytes: bytes,
    pyhanko_signer: signers.Signer,
    lvl: SignatureLevel,
    tsa_url: str | None,
    vc: ValidationContext | None,
    appearance: Appearance,
    field_name: str | None,
    certify: bool,
    reason: str | None,
    location: str | None,
    signing_time: datetime,
) -> bytes:
    writer = open_for_update(pdf_bytes)
    existing = existing_signature_names(writer.prev)
    earlier = bool(existing)
    name = field_name or unique_field_name(existing, "Signature")
    if field_name and field_name in existing:
        raise InvalidDocument(f"signature field {field_name!r} is already signed")
    timestamper = timestamper_for(tsa_url) if tsa_url and lvl.needs_tsa else None
    field_spec, style = signature_field_spec(writer, name, appearance, signing_time, lock=certify and earlier)
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        certify=certify and not earlier,
        docmdp_permissions=MDPPerm.NO_CHANGES if certify else MDPPerm.FILL_FORMS,
        embed_validation_info=lvl.embeds_validation_data,
        # with earlier signers, the LTA step is ours: their validation data must go in before the doc timestamp
        use_pades_lta=lvl is SignatureLevel.B_LTA and not earlier,
        validation_context=vc,
        signer_key_usage={"digital_signature", "non_repudiation"} & _key_usages(pyhanko_signer) or set(),
    )
    pdf_signer = FixedTimePdfSigner(
        meta,
        signer=pyhanko_signer,
        timestamper=timestamper,
        stamp_style=style,
        new_field_spec=field_spec,
        signing_time=signing_time,
    )
    out = await pdf_signer.async_sign_pdf(writer, appearance_text_params=None)
    data = out.getvalue()
    if lvl is SignatureLevel.B_LTA and earlier:
        assert timestamper is not None and vc is not None
        data = await async_add_document_timestamp(data, timestamper, vc)
    return data


def _key_usages(pyhanko_signer: signers.Signer) -> set[str]:
    cert = pyhanko_signer.signing_cert
    if cert is None or cert.key_usage_value is None:
        return set()
    return set(cert.key_usage_value.native)


__all__ = ["FixedTimePdfSigner", "check_certificate_period", "sign_pdf", "signature_field_spec"]
