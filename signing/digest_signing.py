"""The signer's side of deferred signing: sign what the server prepared, with a key that stays on this machine."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pyhanko.sign import signers

from ._runtime import run_sync
from .errors import DeferredSigningError
from .signers import Pkcs11Signer, Pkcs12Signer, SignerConfig, load_signer, signer_lock, signing_certificate

# DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2 note 1): needed when a token gets a bare digest
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True)
class DigestSignature:
    signature: bytes
    certificate: bytes
    signature_algorithm: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "type": "hoso-sign-response",
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "signature_algorithm": self.signature_algorithm,
            "certificate_sha256": hashlib.sha256(self.certificate).hexdigest(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _request_fields(request: bytes | dict[str, Any] | str) -> tuple[bytes, bool, str | None]:
    """(data, is_prehashed, expected certificate sha256) from raw bytes or a ``hoso-sign-request`` JSON."""
    if isinstance(request, bytes):
        return request, False, None
    try:
        data = json.loads(request) if isinstance(request, str) else request
    except ValueError as exc:
        raise DeferredSigningError(f"sign request is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DeferredSigningError("sign request must be a JSON object")
    expected_cert = data.get("certificate_sha256")
    if expected_cert is not None and not isinstance(expected_cert, str):
        raise DeferredSigningError("sign request is damaged: certificate_sha256 is not a string")
    try:
        # validate=True: a damaged field must not decode to a few stray bytes that then get signed
        if data.get("signed_attributes"):
            return base64.b64decode(data["signed_attributes"], validate=True), False, expected_cert
        return base64.b64decode(data["digest"], validate=True), True, expected_cert
    except (KeyError, TypeError, ValueError) as exc:
        raise DeferredSigningError(f"sign request is damaged: {type(exc).__name__} {exc}") from exc


def sign_digest(
    digest_or_signed_attrs: bytes | dict[str, Any] | str,
    signer: SignerConfig | signers.Signer,
    *,
    prehashed: bool = False,
) -> DigestSignature:
    """Sign the signed attributes (hashed here with SHA-256) or, with ``prehashed=True``, a SHA-256 digest.

    ``digest_or_signed_attrs`` may also be the request dict/JSON from :meth:`DeferredRequest.to_request_dict`;
    then the signer's certificate must be the one the request names.
    """
    data, request_prehashed, expected_cert = _request_fields(digest_or_signed_attrs)
    prehashed = prehashed or request_prehashed
    pyhanko_signer = load_signer(signer)
    if hasattr(pyhanko_signer, "ensure_objects_loaded"):  # a PKCS#11 signer built by the caller
        run_sync(pyhanko_signer.ensure_objects_loaded())
    cert = signing_certificate(pyhanko_signer)
    if expected_cert and hashlib.sha256(cert.dump()).hexdigest() != expected_cert:
        raise DeferredSigningError(
            f"this key's certificate ({cert.subject.human_friendly}) is not the one the request was prepared for"
        )
    if prehashed and len(data) != 32:
        raise DeferredSigningError("a SHA-256 digest is 32 bytes")
    algo = "ecdsa" if cert.public_key.algorithm == "ec" else "rsa"
    with signer_lock(pyhanko_signer):
        if not prehashed:
            signature = run_sync(pyhanko_signer.async_sign_raw(data, "sha256"))
        else:
            signature = _sign_prehashed(pyhanko_signer, signer, data, algo)
    return DigestSignature(signature, cert.dump(), f"sha256_{algo}")


def _sign_prehashed(pyhanko_signer, config, digest: bytes, algo: str) -> bytes:
    if isinstance(pyhanko_signer, signers.SimpleSigner):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

        key = serialization.load_der_private_key(pyhanko_signer.signing_key.dump(), password=None)
        prehashed = utils.Prehashed(hashes.SHA256())
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(digest, ec.ECDSA(prehashed))
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(digest, padding.PKCS1v15(), prehashed)
        raise DeferredSigningError(f"unsupported key type {type(key).__name__}")
    if isinstance(config, Pkcs11Signer) or hasattr(pyhanko_signer, "pkcs11_session"):
        from pkcs11 import Mechanism

        key = pyhanko_signer._key_handle  # loaded by ensure_objects_loaded above
        if algo == "ecdsa":
            return key.sign(digest, mechanism=Mechanism.ECDSA)
        return key.sign(SHA256_DIGEST_INFO_PREFIX + digest, mechanism=Mechanism.RSA_PKCS)
    raise DeferredSigningError("this signer cannot sign a bare digest; give it the signed attributes")


__all__ = ["DigestSignature", "Pkcs11Signer", "Pkcs12Signer", "sign_digest"]
