"""Builders of attacked and unusual signed PDFs, one per class the validation must flag (or must not fail).

Everything is made here from our own files with pikepdf, pyHanko and byte surgery; no outside corpus is used.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pikepdf
from asn1crypto import cms, tsp
from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

_CONTENTS = re.compile(rb"/Contents\s*<([0-9a-fA-F]+)>")


# --- form fields (shadow "replace") ---------------------------------------------------------------------------


def _text_appearance(pdf: pikepdf.Pdf, font, text: bytes) -> pikepdf.Stream:
    body = b"/Tx BMC BT /F1 14 Tf 2 6 Td (" + text + b") Tj ET EMC" if text else b"/Tx BMC EMC"
    ap = pdf.make_indirect(pikepdf.Stream(pdf, body))
    ap.Type, ap.Subtype, ap.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 100, 24]
    ap.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    return ap


def form_pdf() -> bytes:
    """A one-page PDF with a filled text field "diem" (shows 5.0) and an empty one "ghi_chu"."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"BT /F1 14 Tf 72 770 Td (Diem tong ket:) Tj ET"))
    fields = []
    for name, value, rect in (("diem", b"5.0", [200, 760, 300, 784]), ("ghi_chu", b"", [200, 700, 500, 724])):
        field = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            T=pikepdf.String(name),
            DA=pikepdf.String("/F1 14 Tf 0 g"),
            Rect=rect,
            F=4,
            P=page.obj,
            AP=pikepdf.Dictionary(N=_text_appearance(pdf, font, value)),
        )
        if value:
            field.V = pikepdf.String(value.decode())
        fields.append(pdf.make_indirect(field))
    page.Annots = pdf.make_indirect(pikepdf.Array(fields))
    pdf.Root.AcroForm = pdf.make_indirect(
        pikepdf.Dictionary(
            Fields=fields,
            DA=pikepdf.String("/F1 14 Tf 0 g"),
            DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def set_field(signed: bytes, name: str, shown: bytes, value: str | None = None) -> bytes:
    """An incremental update giving field ``name`` a new appearance (and optionally a new /V)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") != name:
            continue
        old = field["/AP"]["/N"]
        new = generic.StreamObject(
            dict(old.items()), stream_data=b"/Tx BMC BT /F1 14 Tf 2 6 Td (" + shown + b") Tj ET EMC"
        )
        field["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): writer.add_object(new)})
        if value is not None:
            field["/V"] = generic.TextStringObject(value)
        writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- incremental saving attack with a broken appended xref --------------------------------------------------------

HIDDEN_UPDATES = ("no_xref", "old_startxref", "garbage_xref")


def append_hidden_update(signed: bytes, variant: str) -> bytes:
    """Append a new version of page 1's content stream, reachable only by a reader that repairs the file."""
    startxref = int(re.findall(rb"startxref\s+(\d+)", signed)[-1])
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        content = pdf.pages[0].obj.Contents.objgen[0]
        size, root = int(pdf.trailer.Size), pdf.Root.objgen[0]
    text = b"BT /F1 24 Tf 72 700 Td (Diem: 10 - DA SUA) Tj ET"
    body = b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (content, len(text), text)
    if variant == "no_xref":
        return signed + body
    if variant == "old_startxref":
        return signed + body + b"startxref\n%d\n%%%%EOF\n" % startxref
    if variant == "garbage_xref":
        return (
            signed
            + body
            + (
                b"xref\n0 1\n00000 65535 f\ntrailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                % (size, root, startxref)
            )
        )
    raise ValueError(variant)


def append_page_update(signed: bytes) -> bytes:
    """A well-formed incremental update replacing page 1's content (pyHanko's diff analysis sees it)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (X) Tj ET")
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- signature timestamp token ------------------------------------------------------------------------------------

TOKEN_DAMAGE = ("signature", "imprint", "garbage")


def break_timestamp_token(signed: bytes, damage: str) -> bytes:
    """Damage the signature timestamp token inside /Contents (outside the signed bytes, so the signature stays
    intact): its signature value, its message imprint, or its DER structure."""
    match = _CONTENTS.search(signed)
    assert match is not None
    raw = bytearray(bytes.fromhex(match.group(1).decode()))
    signer_info = cms.ContentInfo.load(bytes(raw))["content"]["signer_infos"][0]
    token = next(
        a["values"][0]
        for a in signer_info["unsigned_attrs"]
        if a["type"].native == "signature_time_stamp_token"
    )
    token_der = token.dump()
    at = bytes(raw).index(token_der)
    if damage == "signature":
        value = token["content"]["signer_infos"][0]["signature"].native
        raw[at + token_der.index(value) + 10] ^= 0xFF
    elif damage == "imprint":
        info = tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].contents)
        imprint = info["message_imprint"]["hashed_message"].native
        raw[at + token_der.index(imprint) + 3] ^= 0xFF
    elif damage == "garbage":
        raw[at + 30 : at + 60] = bytes(30)
    else:
        raise ValueError(damage)
    return signed[: match.start(1)] + bytes(raw).hex().encode() + signed[match.end(1) :]


# --- /Contents written as a hex string wrapped over lines ---------------------------------------------------------


def wrap_signature_hex(signed: bytes, width: int = 64) -> bytes:
    """Rewrite /Contents as lines of ``width`` hex digits, taking the line breaks out of the zero padding, so no byte
    offset moves and every signed byte stays the same: still a sound signature over the whole file."""
    match = _CONTENTS.search(signed)
    assert match is not None
    digits = match.group(1)
    wrapped = b"\n".join(digits[i : i + width] for i in range(0, len(digits), width))[: len(digits)]
    if len(wrapped.replace(b"\n", b"")) % 2:
        wrapped = wrapped[:-1] + b" "
    assert len(wrapped) == len(digits) and digits.rstrip(b"0") in wrapped.replace(b"\n", b"")
    return signed[: match.start(1)] + wrapped + signed[match.end(1) :]


# --- EdDSA with a digest the scheme does not allow ----------------------------------------------------------------


class WrongDigestSigner(signers.SimpleSigner):
    """pyHanko refuses to sign Ed448 with anything but SHAKE256; the attacker's tool does not."""

    def _check_digest_algorithm(self, digest_algorithm: str) -> None:
        return None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def ed448_signer(*, wrong_digest: bool) -> tuple[ax509.Certificate, signers.SimpleSigner]:
    """(root certificate, signer) of a fresh Ed448 root and end-entity certificate."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    root_key, leaf_key = ed448.Ed448PrivateKey.generate(), ed448.Ed448PrivateKey.generate()
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Ed448 Root"))
        .issuer_name(_name("Ed448 Root"))
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, None)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Người Ký Ed448"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False)
        .sign(root_key, None)
    )
    der = serialization.Encoding.DER
    root_cert = ax509.Certificate.load(root.public_bytes(der))
    key = akeys.PrivateKeyInfo.load(
        leaf_key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cls = WrongDigestSigner if wrong_digest else signers.SimpleSigner
    signer = cls(
        signing_cert=ax509.Certificate.load(leaf.public_bytes(der)),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([root_cert]),
    )
    return root_cert, signer


def sign_with_digest(pdf: bytes, signer: signers.Signer, md: str, timestamper=None) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name="ChuKy1", md_algorithm=md, subfilter=SigSeedSubFilter.PADES
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(writer).getvalue()
