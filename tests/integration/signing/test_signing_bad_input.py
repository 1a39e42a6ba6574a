"""Bad input gets a clear SigningError subclass, never a stray ValueError/TypeError traceback."""

from __future__ import annotations

import pytest

from signing import DeferredSigningError, Pkcs12Signer, sign_digest

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
