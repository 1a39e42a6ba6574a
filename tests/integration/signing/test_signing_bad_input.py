"""Bad input gets a clear SigningError subclass, never a stray ValueError/TypeError traceback."""

from __future__ import annotations

import json

import pytest

from signing import (
    CertificateRejected,
    DeferredSigningError,
    DeferredState,
    InvalidDeferredState,
    Pkcs12Signer,
    SigningError,
    finish_deferred,
    is_test_certificate,
    prepare_deferred,
    refuse_test_pki,
    sign_digest,
    sign_pdf,
)

from .testkit import P12_PASSWORD


def teacher(pki) -> Pkcs12Signer:
    return Pkcs12Signer(str(pki.p12["teacher"]), P12_PASSWORD)


@pytest.mark.parametrize(
    "request_",
    [
        "not json at all",
        '{"signed_attributes": "!!!"}',  # base64 that would decode to b"" without validation
        {"signed_attributes": "!!!"},
        {"digest": 5},
        {"signed_attributes": "MAA=", "certificate_sha256": 5},
        {},
    ],
)
def test_damaged_sign_request_is_a_deferred_signing_error(pki, request_):
    with pytest.raises(DeferredSigningError, match="sign request"):
        sign_digest(request_, teacher(pki))


@pytest.mark.parametrize("cert", [b"garbage", b"\x30\x03\x02\x01\x01", "/nonexistent/teacher.pem"])
def test_unreadable_signer_certificate_is_certificate_rejected(small_pdf, cert):
    with pytest.raises(CertificateRejected, match="cannot be read"):
        prepare_deferred(small_pdf, cert)


def test_unreadable_certificates_are_signing_errors(tmp_path):
    with pytest.raises(SigningError, match="not a certificate"):
        is_test_certificate(b"garbage")
    with pytest.raises(SigningError, match="not a certificate"):
        refuse_test_pki(b"garbage")
    junk = tmp_path / "root.pem"
    junk.write_bytes(b"\x30\x03\x02\x01\x01")
    with pytest.raises(SigningError, match="cannot read certificate"):
        refuse_test_pki(junk)
    with pytest.raises(SigningError, match="cannot read certificate"):
        refuse_test_pki(tmp_path / "missing.pem")


def test_damaged_deferred_state_is_invalid_deferred_state(pki, small_pdf):
    with pytest.raises(InvalidDeferredState, match="JSON object"):
        DeferredState.from_dict([1])  # type: ignore[arg-type]
    request = prepare_deferred(small_pdf, pki.certs["teacher"].read_bytes(), level="B-B")
    good = sign_digest(request.data_to_sign, teacher(pki))
    state = request.state.to_dict()
    with pytest.raises(InvalidDeferredState, match="damaged"):
        DeferredState.from_dict({**state, "level": 5})
    truncated = request.state.to_json()[: len(request.state.to_json()) // 2]
    with pytest.raises(InvalidDeferredState, match="not JSON"):
        finish_deferred(truncated, good.signature)
    with pytest.raises(InvalidDeferredState, match="certificate"):
        finish_deferred(json.dumps({**state, "certificate": "AAAA"}), good.signature)
    # the untouched state still finishes
    assert finish_deferred(request.state.to_json(), good.signature)[:5] == b"%PDF-"


def test_unknown_level_or_missing_tsa_is_a_signing_error(pki, small_pdf):
    with pytest.raises(SigningError, match="unknown PAdES level"):
        sign_pdf(small_pdf, teacher(pki), level="B-X")
    with pytest.raises(SigningError, match="unknown PAdES level"):
        prepare_deferred(small_pdf, pki.certs["teacher"], level="B-X")
    with pytest.raises(SigningError, match="tsa_url"):
        prepare_deferred(small_pdf, pki.certs["teacher"], level="B-T")
