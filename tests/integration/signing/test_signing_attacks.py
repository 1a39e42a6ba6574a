"""Tampering and known PDF signature attacks must never be reported as passed."""

from __future__ import annotations

import io
import re
import zlib

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing import Pkcs12Signer, sign_pdf, validate_pdf

from .testkit import P12_PASSWORD


@pytest.fixture(scope="module")
def signed_bt(pki, small_pdf) -> bytes:
    signer = Pkcs12Signer(str(pki.p12["principal"]), P12_PASSWORD)
    return sign_pdf(small_pdf, signer, level="B-T", tsa_url=pki.tsa_url)


@pytest.fixture(scope="module")
def signed_lta(pki, small_pdf) -> bytes:
    signer = Pkcs12Signer(str(pki.p12["principal"]), P12_PASSWORD)
    return sign_pdf(small_pdf, signer, level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root])


def test_untouched_file_passes(pki, signed_bt):
    assert validate_pdf(signed_bt, [pki.root]).passed


def test_flipped_byte_in_signed_range_fails(pki, signed_bt):
    data = bytearray(signed_bt)
    # a byte inside the first page's text, well inside the signed range
    pos = data.index(b"stream\n") + 40
    data[pos] ^= 0x01
    report = validate_pdf(bytes(data), [pki.root])
    assert report.verdict != "TOTAL_PASSED"
    if report.signatures:
        assert report.signatures[0].intact is False
        assert report.verdict == "TOTAL_FAILED" and report.sub_indication == "HASH_FAILURE"


@pytest.mark.parametrize("fixture", ["signed_bt", "signed_lta"])
def test_page_content_replaced_in_incremental_update_fails(pki, request, fixture):
    signed = request.getfixturevalue(fixture)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    forged = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Diem: 10 - DA SUA) Tj ET")
    page["/Contents"] = writer.add_object(forged)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), [pki.root])
    assert report.verdict == "TOTAL_FAILED"
    sig = report.signatures[0]
    assert sig.intact is True  # the signed revision itself is fine …
    assert sig.modification == "other"  # … but what came after is not allowed
    assert sig.verdict == "TOTAL_FAILED"


def test_signature_removed_by_rewriting_is_not_passed(pki, signed_bt):
    with pikepdf.open(io.BytesIO(signed_bt)) as pdf:
        del pdf.Root.AcroForm
        for page in pdf.pages:
            if "/Annots" in page:
                del page.Annots
        out = io.BytesIO()
        pdf.save(out)
    report = validate_pdf(out.getvalue(), [pki.root])
    assert report.verdict == "INDETERMINATE" and report.sub_indication == "NO_SIGNATURE"
    assert report.signatures == ()


def test_signature_field_removed_in_incremental_update_is_not_passed(pki, signed_bt):
    # the earlier signature still sits in its revision, but the newest revision no longer lists it
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_bt))
    acroform = writer.root["/AcroForm"]
    acroform["/Fields"] = generic.ArrayObject()
    writer.update_container(acroform)
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), [pki.root])
    assert report.verdict != "TOTAL_PASSED"


def _byte_range(data: bytes) -> tuple[re.Match, list[int]]:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    assert match is not None
    return match, [int(g) for g in match.groups()]


def test_byte_range_not_covering_the_file_fails(pki, signed_bt):
    match, (a, b, c, d) = _byte_range(signed_bt)
    # shrink the last segment: 100 bytes at the end are no longer covered (same width, so offsets stay put)
    shorter = str(d - 100).encode().rjust(len(match.group(4)))
    patched = signed_bt[: match.start(4)] + shorter + signed_bt[match.end(4) :]
    report = validate_pdf(patched, [pki.root])
    assert report.verdict != "TOTAL_PASSED"
    assert not report.signatures or report.signatures[0].verdict != "TOTAL_PASSED"


def test_content_hidden_in_the_unsigned_gap_fails(pki, signed_bt):
    # signature wrapping: bytes outside the ByteRange (the /Contents padding) are replaced by PDF objects
    match, (a, b, c, d) = _byte_range(signed_bt)
    gap = signed_bt[b:c]
    assert gap.startswith(b"<") and gap.endswith(b">")
    payload = b"> 99 0 obj << /Type /Page >> endobj <"
    padded_end = len(gap) - 1 - len(payload)
    assert gap[padded_end : len(gap) - 1].strip(b"0") == b""  # we only overwrite zero padding
    forged = signed_bt[:b] + gap[:padded_end] + payload + b">" + signed_bt[c:]
    assert len(forged) == len(signed_bt)
    report = validate_pdf(forged, [pki.root])
    assert report.verdict != "TOTAL_PASSED"


def test_shadow_hide_overlay_added_after_signing_fails(pki, signed_bt):
    # "shadow" style: an incremental update adds a new page object and swaps it into the page tree
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_bt))
    pages = writer.root["/Pages"]
    first_ref = pages["/Kids"][0]
    first = first_ref.get_object()
    shadow = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/Parent"): first["/Parent"],
            generic.NameObject("/MediaBox"): first["/MediaBox"]
            if "/MediaBox" in first
            else pages["/MediaBox"],
            generic.NameObject("/Contents"): writer.add_object(
                generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Shadow) Tj ET")
            ),
        }
    )
    kids = pages["/Kids"]
    kids[0] = writer.add_object(shadow)
    writer.update_container(pages)
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), [pki.root])
    assert report.verdict == "TOTAL_FAILED"
    assert report.signatures[0].modification == "other"


HOSTILE = {
    "garbage": b"\x00\xffnot a pdf at all" * 100,
    "empty": b"",
    "header_only": b"%PDF-1.7\n%%EOF\n",
    "truncated_xref": b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\nxref\n0 99999999\n",
    "self_referencing_pages": (
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R] >> >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /FT /Sig /T (x) /Kids [3 0 R] /V 3 0 R >> endobj\n"
        b"trailer << /Root 1 0 R /Size 4 >>\n%%EOF\n"
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_malformed_pdf_gives_a_report_not_a_crash(pki, name):
    report = validate_pdf(HOSTILE[name], [pki.root], time_limit=20)
    assert report.verdict == "INDETERMINATE"
    assert report.sub_indication in {
        "UNREADABLE",
        "NO_SIGNATURE",
        "VALIDATION_ERROR",
        "FORMAT_FAILURE",
        "TIMEOUT",
    }
    assert report.to_dict()["verdict_vi"].startswith("Chưa xác định")


def test_time_limit_is_enforced(pki, signed_lta):
    report = validate_pdf(signed_lta, [pki.root], time_limit=0.001)
    assert report.verdict == "INDETERMINATE" and report.sub_indication == "TIMEOUT"
    assert "0.001" in (report.error or "")


@pytest.mark.parametrize("fixture", ["signed_bt", "signed_lta"])
def test_pyhanko_signed_files_pass_the_archive_inspection(request, tmp_path, fixture):
    """The active-content walk and the bomb check must keep what pyHanko writes (signature dictionaries, DSS with
    certificates, OCSP responses and CRLs, document timestamps)."""
    from archive.pdfcheck import inspect_pdf

    path = tmp_path / "signed.pdf"
    path.write_bytes(request.getfixturevalue(fixture))
    facts = inspect_pdf(path)
    assert facts.signed and facts.signature_count >= 1


def test_a_bomb_added_after_signing_gives_a_bounded_report(pki, signed_bt, tmp_path):
    """An incremental update after the signature adds a page content stream that inflates to 4 GiB: validation runs
    in its child under pyHanko's decode limits and an address-space limit; the report is not a pass, and the
    validating process stays small."""
    from tests.integration import pdfkit

    w = IncrementalPdfFileWriter(io.BytesIO(signed_bt))
    data = zlib.compress(pdfkit.flate_zeros(4 * pdfkit.GiB), 9)
    bomb = generic.StreamObject(
        {
            generic.NameObject("/Filter"): generic.ArrayObject(
                [generic.NameObject("/FlateDecode"), generic.NameObject("/FlateDecode")]
            )
        },
        encoded_data=data,
    )
    page_ref, _ = w.find_page_for_modification(0)
    page = page_ref.get_object()
    page[generic.NameObject("/Contents")] = w.add_object(bomb)
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    path = tmp_path / "signed-then-bomb.pdf"
    path.write_bytes(out.getvalue())
    result = pdfkit.run_measured(
        "from pathlib import Path\n"
        "from signing import validate_pdf\n"
        "pdf, root = arg.split('|')\n"
        "r = validate_pdf(Path(pdf).read_bytes(), [root], time_limit=120)\n"
        # a validator worker that may serve again is still running: stopped (and reaped) so that its peak counts
        "from signing import workers; workers.retire_all()\n"
        "out['verdict'] = r.verdict\n",
        f"{path}|{pki.root}",
    )
    assert "crash" not in result, result
    assert result["verdict"] != "TOTAL_PASSED"
    # the validation child may grow 512 MiB over what it inherits (~200 MB of Python and pyHanko): bounded, where
    # an unbounded decode of this file takes gigabytes
    assert result["peak_mb"] < 1024, result
