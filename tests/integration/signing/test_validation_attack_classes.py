"""Every attack class of issue 14 is flagged (never TOTAL_PASSED) with the report saying what changed or failed, and
a sound signature from an unknown root over the whole file is INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND.
The files are built in attackfiles.py; each attack has a control: the same file without the attack."""

from __future__ import annotations

import pytest
from pyhanko.sign.timestamps import HTTPTimeStamper

from signing import Pkcs12Signer, sign_pdf, validate_pdf

from . import attackfiles
from .testkit import P12_PASSWORD


def _signer(pki, who: str = "principal") -> Pkcs12Signer:
    return Pkcs12Signer(str(pki.p12[who]), P12_PASSWORD)


@pytest.fixture(scope="module")
def signed_form(pki) -> bytes:
    return sign_pdf(attackfiles.form_pdf(), _signer(pki), level="B-B")


@pytest.fixture(scope="module")
def signed_bt(pki, small_pdf) -> bytes:
    return sign_pdf(small_pdf, _signer(pki), level="B-T", tsa_url=pki.tsa_url)


def _errors(report) -> str:
    return " | ".join(e for s in report.signatures for e in s.errors)


# --- shadow attack: a filled form field gets a new appearance after signing ---


@pytest.mark.parametrize("new_value", [None, "10"], ids=["appearance_only", "appearance_and_value"])
def test_filled_field_replaced_after_signing_is_flagged(pki, signed_form, new_value):
    attacked = attackfiles.set_field(signed_form, "diem", b"10", value=new_value)
    report = validate_pdf(attacked, [pki.root])
    sig = report.signatures[0]
    assert report.verdict == "TOTAL_FAILED" and sig.sub_indication == "FORMAT_FAILURE"
    assert sig.intact and sig.modification == "other"  # pyHanko alone called it harmless form filling
    assert "diem" in _errors(report) and "sau khi ký" in _errors(report)


def test_filling_an_empty_field_after_signing_stays_valid(pki, signed_form):
    filled = attackfiles.set_field(signed_form, "ghi_chu", b"Da duyet", value="Da duyet")
    report = validate_pdf(filled, [pki.root])
    assert report.verdict == "TOTAL_PASSED"
    assert report.signatures[0].modification == "form_filling" and not _errors(report)


def test_a_second_signature_on_a_form_stays_valid(pki, signed_form):
    both = sign_pdf(signed_form, _signer(pki, "teacher"), level="B-B")
    report = validate_pdf(both, [pki.root])
    assert [s.verdict for s in report.signatures] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    assert report.signatures[0].modification == "form_filling"


# --- incremental saving attack whose appended xref is broken or missing ---


@pytest.mark.parametrize("variant", attackfiles.HIDDEN_UPDATES)
def test_update_appended_without_a_valid_xref_is_flagged(pki, signed_bt, variant):
    attacked = attackfiles.append_hidden_update(signed_bt, variant)
    report = validate_pdf(attacked, [pki.root])
    sig = report.signatures[0]
    assert report.verdict == "TOTAL_FAILED" and sig.sub_indication == "FORMAT_FAILURE"
    assert sig.modification == "other"
    assert "xref" in _errors(report)


def test_levels_with_legitimate_updates_have_no_unexplained_tail(pki, small_pdf):
    lta = sign_pdf(small_pdf, _signer(pki), level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root])
    report = validate_pdf(lta, [pki.root])
    assert report.verdict == "TOTAL_PASSED" and not _errors(report)
    # the same file with a hidden update after the document timestamp
    attacked = validate_pdf(attackfiles.append_hidden_update(lta, "old_startxref"), [pki.root])
    assert attacked.verdict == "TOTAL_FAILED"
    assert all(s.verdict == "TOTAL_FAILED" for s in attacked.signatures)


# --- broken signature timestamp token ---


@pytest.mark.parametrize(
    ("damage", "sub"),
    [("signature", "SIG_CRYPTO_FAILURE"), ("imprint", "HASH_FAILURE"), ("garbage", "FORMAT_FAILURE")],
)
def test_broken_timestamp_token_fails(pki, signed_bt, damage, sub):
    report = validate_pdf(attackfiles.break_timestamp_token(signed_bt, damage), [pki.root])
    assert report.verdict == "TOTAL_FAILED" and report.sub_indication == sub
    assert "Dấu thời gian" in _errors(report) or "dấu thời gian" in _errors(report)


# --- a digest the signature scheme does not allow ---


@pytest.mark.parametrize("level", ["B-B", "B-T"])
@pytest.mark.parametrize("root_known", [True, False], ids=["known_root", "unknown_root"])
def test_ed448_with_sha256_is_a_crypto_constraint_failure(pki, small_pdf, level, root_known):
    root, signer = attackfiles.ed448_signer(wrong_digest=True)
    stamper = HTTPTimeStamper(pki.tsa_url) if level == "B-T" else None
    signed = attackfiles.sign_with_digest(small_pdf, signer, "sha256", stamper)
    report = validate_pdf(signed, [root] if root_known else [pki.root])
    sig = report.signatures[0]
    assert report.verdict == "INDETERMINATE" and sig.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"
    assert sig.intact and not sig.trusted
    assert "ed448" in _errors(report) and "sha256" in _errors(report)


def test_ed448_with_shake256_passes(pki, small_pdf):
    root, signer = attackfiles.ed448_signer(wrong_digest=False)
    report = validate_pdf(attackfiles.sign_with_digest(small_pdf, signer, "shake256"), [root])
    assert report.verdict == "TOTAL_PASSED" and not _errors(report)


# --- a sound signature from an unknown root over the whole file ---


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_sound_signature_from_unknown_root_is_indeterminate(pki, small_pdf, level):
    signed = sign_pdf(small_pdf, _signer(pki, "stranger"), level=level, tsa_url=pki.tsa_url)
    wrapped = attackfiles.wrap_signature_hex(signed)
    assert wrapped != signed and len(wrapped) == len(signed)
    report = validate_pdf(wrapped, [pki.root])
    sig = report.signatures[0]
    assert report.verdict == "INDETERMINATE" and report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert sig.coverage == "entire_file" and sig.modification == "none" and sig.intact
    # trusted, the same wrapped file passes: the wrapping itself is sound
    assert validate_pdf(wrapped, [pki.other_root, pki.root]).verdict == "TOTAL_PASSED"


def test_wrapped_hex_does_not_excuse_a_later_update(pki, small_pdf):
    wrapped = attackfiles.wrap_signature_hex(sign_pdf(small_pdf, _signer(pki), level="B-B"))
    report = validate_pdf(attackfiles.append_page_update(wrapped), [pki.root])
    assert report.verdict == "TOTAL_FAILED" and report.signatures[0].coverage != "entire_file"
