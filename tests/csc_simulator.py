"""A Cloud Signature Consortium API v2 service for tests: OAuth2 authorisation code (service and credential scopes),
credentials/list, credentials/info and signatures/signHash, with keys from the dev PKI.

Like VNPT SmartCA or Viettel MySign, the person confirms in the provider's own page (here: a form with an OTP that the
test types; `refuse` presses "Từ chối"). Credential tokens (the SAD) are bound to the hashes they were issued for,
used once, and expire after `token_ttl` seconds.
"""

from __future__ import annotations

import base64
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from asn1crypto import pem
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

RSA_OID = "1.2.840.113549.1.1.1"


def _der(path: Path) -> bytes:
    data = path.read_bytes()
    return pem.unarmor(data)[2] if pem.detect(data) else data


@dataclass
class CscSimulator:
    pki: Path  # a dev PKI folder (signing.ensure_dev_pki)
    person: str = "teacher"
    client_id: str = "hoso"
    client_secret: str = "hoso-secret"
    otp: str = "246810"
    token_ttl: float = 300.0
    credential_id: str = "cred-1"
    url: str = ""
    port: int = 0  # 0: any free port; a fixed one when the service must be configured before it starts
    signed: int = 0
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.certificate = _der(self.pki / f"{self.person}.cert.pem")
        self.chain = [_der(self.pki / "interm.cert.pem")] if (self.pki / "interm.cert.pem").exists() else []
        self._key = serialization.load_pem_private_key(
            (self.pki / "keys" / f"{self.person}.key.pem").read_bytes(), None
        )

    def answer(self, url: str, otp: str | None = None, action: str = "confirm") -> dict[str, str]:
        """The person at the provider (the phone app in real life): opens `url`, types the OTP, confirms or refuses.
        Returns the query hoso's callback receives (code or error, and state)."""
        from urllib.parse import parse_qs, urlsplit

        import httpx

        fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert httpx.get(url).status_code == 200
        r = httpx.post(
            self.url + "/oauth2/authorize", data=fields | {"otp": otp or self.otp, "action": action}
        )
        assert r.status_code == 302, r.text
        location = r.headers["location"]
        assert location.startswith(fields["redirect_uri"] + "?")
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    # --- serving --------------------------------------------------------------------------------------------
    def start(self) -> CscSimulator:
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes = {
            ("GET", "/oauth2/authorize"): self._authorize_page,
            ("POST", "/oauth2/authorize"): self._authorize_answer,
            ("POST", "/oauth2/token"): self._token,
            ("POST", "/csc/v2/credentials/list"): self._list,
            ("POST", "/csc/v2/credentials/info"): self._info,
            ("POST", "/csc/v2/signatures/signHash"): self._sign_hash,
        }
        handler = routes.get((request.method, request.path))
        response = handler(request) if handler else self._error(404, "invalid_request", "no such endpoint")
        return response(environ, start_response)

    @staticmethod
    def _error(status: int, error: str, description: str) -> Response:
        return Response(
            f'{{"error": "{error}", "error_description": "{description}"}}',
            status,
            mimetype="application/json",
        )

    @staticmethod
    def _json(data: dict[str, Any]) -> Response:
        import json

        return Response(json.dumps(data), 200, mimetype="application/json")

    # --- OAuth2 ---------------------------------------------------------------------------------------------
    def _authorize_page(self, request: Request, message: str = "") -> Response:
        q = request.values
        if q.get("client_id") != self.client_id:
            return self._error(400, "unauthorized_client", "unknown client")
        count = q.get("numSignatures", "")
        what = f"Ký {count} tài liệu bằng chứng thư {self.credential_id}" if q.get("scope") == "credential" else (
            "Cho phép hoso đọc chứng thư ký số từ xa của bạn")  # fmt: skip
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in q.items()
        )
        body = (
            f"<!doctype html><meta charset=utf-8><title>Ký số từ xa</title><h1 id='yeu-cau'>{html.escape(what)}</h1>"
            f"<p id='loi'>{html.escape(message)}</p><form method=post action='/oauth2/authorize'>{hidden}"
            "<label for=otp>Mã OTP</label> <input id=otp name=otp> "
            "<button name=action value=confirm id=xac-nhan>Xác nhận</button>"
            "<button name=action value=refuse id=tu-choi>Từ chối</button></form>"
        )
        return Response(body, 200 if not message else 403, mimetype="text/html")

    def _authorize_answer(self, request: Request) -> Response:
        q = request.form
        redirect = q.get("redirect_uri", "")
        state = q.get("state", "")
        if q.get("action") == "refuse":
            return Response(
                status=302,
                headers={"Location": f"{redirect}?{urlencode({'error': 'access_denied', 'state': state})}"},
            )
        if q.get("otp") != self.otp:
            return self._authorize_page(request, "Mã OTP không đúng")
        code = secrets.token_urlsafe(16)
        hashes = [h for h in q.get("hash", "").split(",") if h]
        self._codes[code] = {"scope": q.get("scope"), "redirect_uri": redirect, "credential": q.get("credentialID"),
                             "hashes": hashes, "num": int(q.get("numSignatures") or 0)}  # fmt: skip
        return Response(
            status=302, headers={"Location": f"{redirect}?{urlencode({'code': code, 'state': state})}"}
        )

    def _token(self, request: Request) -> Response:
        f = request.form
        grant = self._codes.pop(f.get("code", ""), None)
        if f.get("client_id") != self.client_id or f.get("client_secret") != self.client_secret:
            return self._error(401, "invalid_client", "bad client credentials")
        if grant is None or grant["redirect_uri"] != f.get("redirect_uri"):
            return self._error(400, "invalid_grant", "unknown or used code")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = grant | {"expires": time.monotonic() + self.token_ttl}
        return self._json({"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)})

    def _bearer(self, request: Request, scope: str) -> dict[str, Any] | Response:
        auth = request.headers.get("Authorization", "")
        grant = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None or grant["scope"] != scope:
            return self._error(401, "invalid_token", "unknown token")
        if time.monotonic() > grant["expires"]:
            return self._error(401, "invalid_token", "token expired")
        return grant

    # --- CSC API --------------------------------------------------------------------------------------------
    def _list(self, request: Request) -> Response:
        grant = self._bearer(request, "service")
        return grant if isinstance(grant, Response) else self._json({"credentialIDs": [self.credential_id]})

    def _info(self, request: Request) -> Response:
        grant = self._bearer(request, "service")
        if isinstance(grant, Response):
            return grant
        if (request.get_json(silent=True) or {}).get("credentialID") != self.credential_id:
            return self._error(400, "invalid_request", "unknown credentialID")
        certs = [base64.b64encode(c).decode() for c in [self.certificate, *self.chain]]
        return self._json({"key": {"status": "enabled", "algo": [RSA_OID], "len": 2048},
                           "cert": {"status": "valid", "certificates": certs}, "authMode": "oauth2code"})  # fmt: skip

    def _sign_hash(self, request: Request) -> Response:
        grant = self._bearer(request, "credential")
        if isinstance(grant, Response):
            return grant
        body = request.get_json(silent=True) or {}
        wanted = [
            base64.urlsafe_b64encode(base64.b64decode(h)).rstrip(b"=").decode()
            for h in body.get("hashes", [])
        ]
        if body.get("credentialID") != grant["credential"] or sorted(wanted) != sorted(grant["hashes"]):
            return self._error(400, "invalid_request", "hashes or credential differ from what was authorised")
        auth = request.headers["Authorization"][7:]
        del self._tokens[auth]  # the SAD is good for one signing
        values = []
        for h in body["hashes"]:
            digest = base64.b64decode(h)
            values.append(self._key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())))  # type: ignore[union-attr,call-arg]
        self.signed += len(values)
        return self._json({"signatures": [base64.b64encode(v).decode() for v in values]})
