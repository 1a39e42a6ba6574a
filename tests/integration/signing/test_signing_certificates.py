"""Expired, revoked and untrusted signer certificates; deferred signatures that do not match."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest

from signing import (
    CertificateRejected,
    InvalidDeferredState,
    Pkcs12Signer,
    SignatureMismatch,
    ValidationReport,
    finish_deferred,
    prepare_deferred,
    sign_digest,
    sign_pdf,
    validate_pdf,
)

from .testkit import P12_PASSWORD


def p12(pki, label):
    return Pkcs12Signer(str(pki.p12[label]), P12_PASSWORD)


def test_expired_signer_is_not_passed(pki, small_pdf):
    signed = sign_pdf(
        small_pdf, p12(pki, "expired"), level="B-T", tsa_url=pki.tsa_url, check_certificate=False
    )
    report = validate_pdf(signed, [pki.root], allow_fetching=True)
    assert report.verdict != "TOTAL_PASSED"
    sig = report.signatures[0]
    assert sig.intact is True
    assert sig.sub_indication in {"EXPIRED", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED"}
    assert sig.certificate is not None and sig.certificate.not_after.year == 2021


def test_revoked_signer_is_failed(pki, small_pdf):
    signed = sign_pdf(
        small_pdf, p12(pki, "revoked"), level="B-T", tsa_url=pki.tsa_url, check_certificate=False
    )
    report = validate_pdf(signed, [pki.root], allow_fetching=True)
    assert report.verdict == "TOTAL_FAILED", report.to_dict()
    sig = report.signatures[0]
    assert sig.revocation == "revoked"
    assert sig.sub_indication.startswith("REVOKED")
    assert "thu hồi" in report.reason_vi


def test_revoked_signer_cannot_sign_at_blt(pki, small_pdf):
    with pytest.raises(CertificateRejected):
        sign_pdf(small_pdf, p12(pki, "revoked"), level="B-LT", tsa_url=pki.tsa_url, trust_roots=[pki.root])


def test_untrusted_root_is_indeterminate(pki, small_pdf):
    signed = sign_pdf(small_pdf, p12(pki, "stranger"), level="B-B")
    report = validate_pdf(signed, [pki.root])
    assert report.verdict == "INDETERMINATE"
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.signatures[0].trusted is False and report.signatures[0].intact is True
    # trusting its own root makes the same file pass
    assert validate_pdf(signed, [pki.other_root]).passed


def test_trust_root_folder_is_accepted(pki, small_pdf, tmp_path):
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "root.der").write_bytes(pki.root.read_bytes())
    signed = sign_pdf(small_pdf, p12(pki, "principal"), level="B-B")
    assert validate_pdf(signed, [tmp_path / "roots"]).passed


def test_validation_as_of_a_time(pki, small_pdf):
    signed = sign_pdf(
        small_pdf, p12(pki, "principal"), level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root]
    )
    later = datetime.now(UTC) + timedelta(days=1)
    assert validate_pdf(signed, [pki.root], at=later).passed
    before_root = datetime(2019, 6, 1, tzinfo=UTC)
    assert not validate_pdf(signed, [pki.root], at=before_root).passed


def test_validation_as_of_a_time_before_the_signature_was_made(pki, small_pdf):
    signed = sign_pdf(small_pdf, p12(pki, "principal"), level="B-T", tsa_url=pki.tsa_url)
    made = validate_pdf(signed, [pki.root]).signatures[0].signing_time
    assert made is not None
    # the certificates were already valid an hour earlier: only the signature's own time says it did not exist yet
    earlier = made - timedelta(hours=1)
    report = validate_pdf(signed, [pki.root], at=earlier)
    assert report.verdict == "INDETERMINATE" and report.sub_indication == "NO_POE"
    assert any("chưa tồn tại" in e for e in report.signatures[0].errors)
    assert validate_pdf(signed, [pki.root], at=made + timedelta(minutes=1)).passed


def test_as_of_a_moment_between_two_signatures_the_later_one_is_not_made_yet(pki, small_pdf):
    teacher = sign_pdf(small_pdf, p12(pki, "teacher"), level="B-B", field_name="GiaoVien")
    time.sleep(1.1)  # signing times are kept to the second
    both = sign_pdf(teacher, p12(pki, "principal"), level="B-B", field_name="HieuTruong")
    first, second = (s.signing_time for s in validate_pdf(both, [pki.root]).signatures)
    assert first is not None and second is not None and first < second
    report = validate_pdf(both, [pki.root], at=first)
    assert report.passed  # the teacher's signature was all there was, and it was good
    assert report.signatures[0].passed
    assert report.signatures[1].sub_indication == "NO_POE" and report.signatures[1].errors


def test_deferred_signature_from_another_key_is_refused(pki, small_pdf):
    request = prepare_deferred(small_pdf, pki.certs["teacher"].read_bytes(), level="B-B")
    wrong = sign_digest(request.data_to_sign, p12(pki, "principal"))  # right data, wrong key
    with pytest.raises(SignatureMismatch, match="does not match the certificate"):
        finish_deferred(request.state, wrong.signature)
    other_data = sign_digest(b"something else", p12(pki, "teacher"))  # right key, wrong data
    with pytest.raises(SignatureMismatch):
        finish_deferred(request.state, other_data.signature)


def test_deferred_state_tampering_is_detected(pki, small_pdf):
    request = prepare_deferred(small_pdf, pki.certs["teacher"].read_bytes(), chain=[pki.interm], level="B-B")
    good = sign_digest(request.data_to_sign, p12(pki, "teacher"))
    data = request.state.to_dict()
    import base64

    pdf = bytearray(base64.b64decode(data["prepared_pdf"]))
    pdf[100] ^= 0x01
    data["prepared_pdf"] = base64.b64encode(bytes(pdf)).decode()
    from signing import DeferredState

    with pytest.raises(InvalidDeferredState):
        finish_deferred(DeferredState.from_dict(data), good.signature)
    with pytest.raises(InvalidDeferredState):
        finish_deferred("{not json", good.signature)
    # the untouched state still works, at the level chosen at preparation
    assert validate_pdf(finish_deferred(request.state, good.signature), [pki.root]).passed


def test_deferred_prehashed_digest_with_p12(pki, small_pdf):
    request = prepare_deferred(small_pdf, pki.certs["teacher"].read_bytes(), chain=[pki.interm], level="B-T",
                               tsa_url=pki.tsa_url)  # fmt: skip
    response = sign_digest(request.digest, p12(pki, "teacher"), prehashed=True)
    signed = finish_deferred(request.state, response.to_dict())
    report = validate_pdf(signed, [pki.root])
    assert report.passed and report.signatures[0].level == "B-T"


def test_bt_signature_after_an_lta_signer_passes_with_the_no_revinfo_warning(pki, small_pdf):
    # the DSS then holds the teacher's OCSP responses only; they must not make the seal's chain "fail"
    first = sign_pdf(
        small_pdf, p12(pki, "teacher"), level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root]
    )
    signed = sign_pdf(first, p12(pki, "seal"), level="B-T", tsa_url=pki.tsa_url)
    report = validate_pdf(signed, [pki.root])
    assert report.passed, report.to_dict()
    seal = report.signatures[-1]
    assert seal.revocation == "unknown" and any("CRL" in w for w in seal.warnings)
    # ...but revocation data that is there still counts: a revoked signer in the same position fails
    revoked = sign_pdf(first, p12(pki, "revoked"), level="B-T", tsa_url=pki.tsa_url, check_certificate=False)
    report = validate_pdf(revoked, [pki.root], allow_fetching=True)
    assert report.verdict == "TOTAL_FAILED" and report.signatures[-1].revocation == "revoked"
    expired = sign_pdf(first, p12(pki, "expired"), level="B-T", tsa_url=pki.tsa_url, check_certificate=False)
    assert not validate_pdf(expired, [pki.root]).passed


def test_a_report_comes_back_from_its_validator_process_as_json_unchanged(pki, small_pdf):
    signed = sign_pdf(
        small_pdf, p12(pki, "principal"), level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root]
    )
    from_worker = validate_pdf(signed, [pki.root])  # answered in JSON by a validator process
    here = validate_pdf(signed, [pki.root], isolate=False)
    assert len(from_worker.signatures) == 2 and from_worker.signatures[0].certificate is not None
    assert from_worker.signatures[0].certificate.not_after.tzinfo is not None
    assert ValidationReport.from_dict(from_worker.to_dict()) == from_worker
    assert dataclasses.replace(from_worker, validation_time=here.validation_time) == here
