"""PAdES signing and validation for hoso. Imports nothing from the rest of the project.

Public API (stable; the archive calls these):
    sign_pdf, prepare_deferred, finish_deferred, sign_digest, add_document_timestamp, newest_document_timestamp,
    request_timestamp, read_token (RFC 3161 tokens over a digest), TokenFacts,
    validate_pdf, signature_level_of, ensure_dev_pki, dev_pki_wsgi_app, is_test_certificate, refuse_test_pki,
    Pkcs12Signer, Pkcs11Signer, Appearance, SignatureLevel, ValidationReport, SignatureReport, SigningError + subclasses.
"""

from .appearance import Appearance
from .deferred import DeferredRequest, DeferredState, finish_deferred, prepare_deferred
from .devpki import DevPki, dev_pki_wsgi_app, ensure_dev_pki, is_test_certificate, refuse_test_pki
from .digest_signing import DigestSignature, sign_digest
from .errors import (
    CertificateRejected,
    DeferredSigningError,
    InvalidDeferredState,
    InvalidDocument,
    SignatureMismatch,
    SignerUnavailable,
    SigningError,
    TestPkiRefused,
    TimestampUnavailable,
    ValidationDataUnavailable,
    ValidationFailed,
)
from .levels import SignatureLevel
from .report import SignatureReport, ValidationReport
from .sign import sign_pdf
from .signers import Pkcs11Signer, Pkcs12Signer, close_signers, load_signer
from .timestamps import (
    DocumentTimestampInfo,
    TokenFacts,
    add_document_timestamp,
    newest_document_timestamp,
    read_token,
    request_timestamp,
)
from .validation import signature_level_of, validate_pdf

__all__ = [
    "Appearance",
    "CertificateRejected",
    "DeferredRequest",
    "DeferredSigningError",
    "DeferredState",
    "DevPki",
    "DigestSignature",
    "DocumentTimestampInfo",
    "InvalidDeferredState",
    "InvalidDocument",
    "Pkcs11Signer",
    "Pkcs12Signer",
    "SignatureLevel",
    "SignatureMismatch",
    "SignatureReport",
    "SignerUnavailable",
    "SigningError",
    "TestPkiRefused",
    "TimestampUnavailable",
    "TokenFacts",
    "ValidationDataUnavailable",
    "ValidationFailed",
    "ValidationReport",
    "add_document_timestamp",
    "close_signers",
    "dev_pki_wsgi_app",
    "ensure_dev_pki",
    "finish_deferred",
    "is_test_certificate",
    "load_signer",
    "newest_document_timestamp",
    "prepare_deferred",
    "read_token",
    "refuse_test_pki",
    "request_timestamp",
    "sign_digest",
    "sign_pdf",
    "signature_level_of",
    "validate_pdf",
]
