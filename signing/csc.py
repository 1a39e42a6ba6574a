"""Remote signing through the Cloud Signature Consortium API v2 (ETSI TS 119 432 style): the key stays in the
provider's HSM (VNPT SmartCA, Viettel MySign…) and the person confirms each signing in the provider's own flow.

Two OAuth2 authorisation-code flows, both run by the person's browser at the provider:
- scope ``service`` once, to link the account: the credential id and its certificate are read and bound to her;
- scope ``credential`` for each signing, naming the credential, how many signatures and the very hashes: the token it
  yields is the signature activation data (SAD). hoso uses it for one ``signatures/signHash`` call and drops it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from .errors import SigningError

SHA256_OID = "2.16.840.1.101.3.4.2.1"
RSA_OID = "1.2.840.113549.1.1.1"
ECDSA_SHA256_OID = "1.2.840.10045.4.3.2"
MAX_HASHES = 200


class RemoteSigningError(SigningError):
    """The provider refused, or could not be reached; ``code`` is stable (refused, expired, unavailable, bad_answer)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RemoteCredential:
    credential_id: str
    certificate: bytes  # DER of the signing certificate
    chain: tuple[bytes, ...] = ()
    key_algorithm: str = RSA_OID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class CscProvider:
    """One provider: its base URL (``…/csc/v2`` and ``…/oauth2`` below it) and hoso's OAuth2 client there."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    timeout: float = 30.0

    def authorize_url(
        self, *, state: str, credential_id: str | None = None, hashes: list[bytes] | None = None
    ) -> str:
        """Where to send the person: to link her account (no credential), or to confirm signing these hashes."""
        query: dict[str, str] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "scope": "credential" if credential_id else "service",
        }
        if credential_id:
            if not hashes or len(hashes) > MAX_HASHES or any(len(h) != 32 for h in hashes):
                raise RemoteSigningError("bad_request", f"1 to {MAX_HASHES} SHA-256 hashes are needed")
            query |= {
                "credentialID": credential_id,
                "numSignatures": str(len(hashes)),
                "hash": ",".join(b64url(h) for h in hashes),
                "hashAlgorithmOID": SHA256_OID,
            }
        return f"{self.base_url.rstrip('/')}/oauth2/authorize?{urlencode(query)}"

    def _post(
        self, path: str, body: dict[str, Any], token: str | None = None, form: bool = False
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.base_url.rstrip('/')}{path}"
        try:
            with httpx.Client(timeout=self.timeout) as client:
                r = (
                    client.post(url, data=body, headers=headers)
                    if form
                    else client.post(url, json=body, headers=headers)
                )
        except httpx.HTTPError as exc:
            raise RemoteSigningError(
                "unavailable", f"remote signing service unreachable: {type(exc).__name__}"
            ) from exc
        try:
            answer = r.json()
        except ValueError:
            answer = {}
        if r.status_code >= 400 or not isinstance(answer, dict):
            error = answer.get("error", "") if isinstance(answer, dict) else ""
            description = answer.get("error_description", "") if isinstance(answer, dict) else ""
            code = {"invalid_grant": "expired", "invalid_token": "expired", "access_denied": "refused"}.get(
                error, "refused" if r.status_code in (400, 401, 403) else "bad_answer"
            )
            raise RemoteSigningError(
                code, f"remote signing service said {r.status_code} {error}: {description}".strip()
            )
        return answer

    def exchange_code(self, code: str) -> str:
        """The access token for an authorisation code (for scope credential: the SAD — use once, keep nowhere)."""
        answer = self._post(
            "/oauth2/token",
            {"grant_type": "authorization_code", "code": code, "client_id": self.client_id,
             "client_secret": self.client_secret, "redirect_uri": self.redirect_uri},
            form=True,
        )  # fmt: skip
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise RemoteSigningError("bad_answer", "the token endpoint returned no access_token")
        return token

    def credentials(self, service_token: str) -> list[RemoteCredential]:
        ids = self._post("/csc/v2/credentials/list", {}, service_token).get("credentialIDs")
        if not isinstance(ids, list):
            raise RemoteSigningError("bad_answer", "credentials/list returned no credentialIDs")
        out = []
        for credential_id in ids[:20]:
            info = self._post(
                "/csc/v2/credentials/info",
                {"credentialID": credential_id, "certificates": "chain", "certInfo": True},
                service_token,
            )
            try:
                certs = [base64.b64decode(c, validate=True) for c in info["cert"]["certificates"]]
                algos = info.get("key", {}).get("algo") or [RSA_OID]
            except (KeyError, TypeError, ValueError) as exc:
                raise RemoteSigningError("bad_answer", f"credentials/info is damaged: {exc}") from exc
            out.append(RemoteCredential(str(credential_id), certs[0], tuple(certs[1:]), str(algos[0])))
        return out

    def sign_hashes(self, sad: str, credential: RemoteCredential, hashes: list[bytes]) -> list[bytes]:
        """One signatures/signHash call for every hash (SHA-256 of each request's signed attributes)."""
        ec = credential.key_algorithm.startswith("1.2.840.10045")
        answer = self._post(
            "/csc/v2/signatures/signHash",
            {"credentialID": credential.credential_id, "SAD": sad, "hashes": [base64.b64encode(h).decode() for h in hashes],
             "hashAlgorithmOID": SHA256_OID, "signAlgo": ECDSA_SHA256_OID if ec else RSA_OID},
            sad,
        )  # fmt: skip
        values = answer.get("signatures")
        if not isinstance(values, list) or len(values) != len(hashes):
            raise RemoteSigningError("bad_answer", "signHash returned a different number of signatures")
        try:
            return [base64.b64decode(v, validate=True) for v in values]
        except (TypeError, ValueError) as exc:
            raise RemoteSigningError("bad_answer", f"signHash returned a damaged signature: {exc}") from exc


def sign_requests_remotely(
    provider: CscProvider, sad: str, credential: RemoteCredential, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The answers ``hoso sign-digest`` would give for these requests, signed by the remote credential.

    Each request must be for this credential's certificate; the hashes are the requests' own digests."""
    import hashlib

    expected = hashlib.sha256(credential.certificate).hexdigest()
    hashes = []
    for item in requests:
        if item.get("certificate_sha256") != expected:
            raise RemoteSigningError("bad_request", "a request was prepared for another certificate")
        try:
            hashes.append(base64.b64decode(item["digest"], validate=True))
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteSigningError("bad_request", f"a request has no digest: {exc}") from exc
    values = provider.sign_hashes(sad, credential, hashes)
    algo = "sha256_ecdsa" if credential.key_algorithm.startswith("1.2.840.10045") else "sha256_rsa"
    answers = []
    for item, value in zip(requests, values, strict=True):
        answer = {"version": 1, "type": "hoso-sign-response", "signature": base64.b64encode(value).decode("ascii"),
                  "signature_algorithm": algo, "certificate_sha256": expected}  # fmt: skip
        if item.get("session_id"):
            answer["session_id"] = item["session_id"]
        answers.append(answer)
    return answers
