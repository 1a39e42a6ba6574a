"""Which message digest each signature algorithm allows (RFC 8419 for EdDSA, RFC 5754 / RFC 8017 for the rest).

pyHanko checks the pair itself in the paths we use; this check runs first anyway, so the report can say in words
which pair was found, and a file whose chain is also unknown still says that its cryptography is wrong.
"""

from __future__ import annotations

from asn1crypto import cms

# signature algorithms that fix the digest of the signed attributes; RSA and ECDSA name theirs (sha256_rsa …)
_FIXED_DIGEST = {
    "ed25519": frozenset({"sha512"}),
    "ed448": frozenset({"shake256", "shake256_len"}),
}
_GENERIC = frozenset({"rsassa_pkcs1v15", "rsassa_pss", "rsa", "ecdsa"})


def digest_mismatch(signer_info: cms.SignerInfo) -> str | None:
    """A sentence naming the disallowed pair, or ``None`` when the digest fits the signature algorithm."""
    sig_algo = signer_info["signature_algorithm"]
    name = sig_algo["algorithm"].native
    digest = signer_info["digest_algorithm"]["algorithm"].native
    allowed = _FIXED_DIGEST.get(name)
    if allowed is None and name not in _GENERIC:
        try:
            allowed = frozenset({sig_algo.hash_algo})
        except ValueError:
            return (
                None  # the algorithm names no digest (RSA-PSS carries it in parameters, checked by pyHanko)
            )
    if allowed is None or digest in allowed:
        return None
    return (
        f"Thuật toán băm {digest} không được phép với thuật toán chữ ký {name} "
        f"(digest {digest} is not allowed with {name}; expected {' or '.join(sorted(allowed))})"
    )
