"""Each PAdES level, with PKCS#12 and PKCS#11 keys, validated offline against the test PKI."""

from __future__ import annotations

import pytest

from signing import (
    CertificateRejected,
    Pkcs11Signer,
    Pkcs12Signer,
    SignerUnavailable,
    SigningError,
    add_document_timestamp,
    newest_document_timestamp,
    sign_pdf,
    signature_level_of,
    validate_pdf,
)

from .testkit import P12_PASSWORD


def p12(pki, label: str) -> Pkcs12Signer:
    return Pkcs12Signer(str(pki.p12[label]), P12_PASSWORD)


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_each_level_signs_and_validates_offline(pki, pdf50, level):
    signed = sign_pdf(pdf50, p12(pki, "principal"), level=level, tsa_url=pki.tsa_url, trust_roots=[pki.root])
    assert signed.startswith(pdf50)  # incremental update: the original bytes are untouched
    assert signature_level_of(signed) == level
    report = validate_pdf(signed, [pki.root])
    assert report.verdict == "TOTAL_PASSED", report.to_dict()
    sig = report.signatures[0]
    assert (sig.signer, sig.level, sig.intact, sig.trusted) == ("Nguyễn Thị Hồng Nhung", level, True, True)
    assert sig.organisation == "Trường THPT Thử Nghiệm"
    assert sig.issuer == "Test Intermediate CA"
    if level in ("B-LT", "B-LTA"):
        assert sig.revocation == "good" and not sig.warnings
    else:  # nothing embedded, nothing fetched: TT 15/2025 wants a warning
        assert sig.revocation == "unknown" and sig.warnings
    if level != "B-B":
        assert sig.timestamp_time is not None
    kinds = [s.kind for s in report.signatures]
    assert kinds == (["signature", "document_timestamp"] if level == "B-LTA" else ["signature"])


def test_default_level_is_blta_with_tsa_and_bb_without(pki, small_pdf):
    with_tsa = sign_pdf(small_pdf, p12(pki, "principal"), tsa_url=pki.tsa_url, trust_roots=[pki.root])
    without = sign_pdf(small_pdf, p12(pki, "principal"))
    assert signature_level_of(with_tsa) == "B-LTA"
    assert signature_level_of(without) == "B-B"


def test_pkcs11_signer_on_softhsm(pki, softhsm, small_pdf):
    signer = Pkcs11Signer(softhsm.module, softhsm.token_label, "principal", pin=softhsm.pin)
    signed = sign_pdf(small_pdf, signer, level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root])
    report = validate_pdf(signed, [pki.root])
    assert report.passed, report.to_dict()
    assert report.signatures[0].signer == "Nguyễn Thị Hồng Nhung"


def test_wrong_pin_and_wrong_token_are_signer_unavailable(pki, softhsm, small_pdf):
    with pytest.raises(SignerUnavailable):
        sign_pdf(small_pdf, Pkcs11Signer(softhsm.module, "no-such-token", "principal", pin=softhsm.pin))
    with pytest.raises(SignerUnavailable):
        sign_pdf(small_pdf, Pkcs11Signer(softhsm.module, softhsm.token_label, "nobody", pin=softhsm.pin))


def test_wrong_p12_password_is_signer_unavailable(pki, small_pdf):
    with pytest.raises(SignerUnavailable, match="wrong password"):
        sign_pdf(small_pdf, Pkcs12Signer(str(pki.p12["principal"]), b"wrong"))


def test_timestamped_level_without_tsa_is_refused(pki, small_pdf):
    with pytest.raises(SigningError, match="tsa_url"):
        sign_pdf(small_pdf, p12(pki, "principal"), level="B-T")


def test_document_timestamp_upkeep_and_newest_timestamp_info(pki, small_pdf):
    signed = sign_pdf(
        small_pdf, p12(pki, "principal"), level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root]
    )
    first = newest_document_timestamp(signed)
    renewed = add_document_timestamp(signed, tsa_url=pki.tsa_url, trust_roots=[pki.root])
    newest = newest_document_timestamp(renewed)
    assert first is not None and newest is not None
    assert newest.field_name != first.field_name
    assert newest.time >= first.time
    assert newest.certificate_not_after.year == 2050  # the test TSA certificate
    assert newest.digest_algorithm == "sha256" and newest.signature_algorithm == "rsassa_pkcs1v15"
    report = validate_pdf(renewed, [pki.root])
    assert report.passed, report.to_dict()
    assert [s.kind for s in report.signatures].count("document_timestamp") == 2
    assert newest_document_timestamp(small_pdf) is None


def test_expired_certificate_is_refused_before_signing(pki, small_pdf):
    with pytest.raises(CertificateRejected, match="expired"):
        sign_pdf(small_pdf, p12(pki, "expired"))


def test_concurrent_pkcs11_signatures_share_one_session_safely(pki, softhsm, small_pdf):
    from concurrent.futures import ThreadPoolExecutor

    signer = Pkcs11Signer(softhsm.module, softhsm.token_label, "principal", pin=softhsm.pin)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: sign_pdf(small_pdf, signer, level="B-B"), range(6)))
    for signed in results:
        assert validate_pdf(signed, [pki.root], isolate=False).passed
