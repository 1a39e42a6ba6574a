"""The agent's HTTP service on 127.0.0.1: a JSON API for the paired hoso pages, and its own PIN page.

Who may call what:
- every request must be addressed to 127.0.0.1/localhost on our port (a DNS-rebinding page names another host);
- the JSON API answers only the configured hoso origins (CORS; other origins get 403 and no CORS headers), and
  everything but /status and pairing needs the pairing token;
- the PIN page is the agent's own origin: its form is accepted only from that origin, with the job's nonce.
"""

from __future__ import annotations

import html
import json
import secrets
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import VERSION
from .state import PIN_TRIES_PER_JOB, AgentState, Job, parse_request
from .tokens import TokenError, describe_tokens, find_certificate, list_certificates, sign_requests

MAX_BODY = 8 * 1024 * 1024
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


class Agent:
    def __init__(
        self,
        *,
        port: int,
        origins: list[str],
        modules: list[str],
        state_dir: Path,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.port = port
        self.origins = {o.rstrip("/") for o in origins}
        self.modules = modules
        self.state = AgentState(state_dir)
        self.say = say or (lambda line: print(line, flush=True))

    @property
    def own_origins(self) -> set[str]:
        return {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}

    def serve(self) -> ThreadingHTTPServer:
        agent = self

        class Handler(AgentHandler):
            pass

        Handler.agent = agent
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        return server


class AgentHandler(BaseHTTPRequestHandler):
    agent: Agent
    server_version = f"hoso-signer/{VERSION}"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — stdlib signature
        pass  # no request log: URLs carry job ids

    # --- plumbing -------------------------------------------------------------------------------------------
    @property
    def origin(self) -> str | None:
        return self.headers.get("Origin")

    def _host_ok(self) -> bool:
        return self.headers.get("Host", "") in {o.split("//", 1)[1] for o in self.agent.own_origins}

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _cors(self) -> dict[str, str]:
        if self.origin and self.origin in self.agent.origins:
            return {"Access-Control-Allow-Origin": self.origin, "Vary": "Origin"}
        return {}

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(
            status,
            json.dumps(data, ensure_ascii=False).encode(),
            "application/json; charset=utf-8",
            self._cors(),
        )

    def _error(self, status: int, code: str, vi: str, en: str) -> None:
        self._json(status, {"error": code, "message": vi, "message_en": en})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise TokenError("too_large", "Yêu cầu quá lớn.", "Request too large")
        raw = self.rfile.read(length) if length else b""
        if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise TokenError("bad_request", "Yêu cầu không phải JSON.", "Not JSON") from None

    def _api_origin_ok(self) -> bool:
        if self.origin in self.agent.origins:
            return True
        self._send(403, json.dumps({"error": "origin_not_allowed", "message": "Trang này không được phép dùng phần mềm ký.",
                                    "message_en": "This page's origin is not allowed"}).encode(), "application/json")  # fmt: skip
        return False

    def _paired_ok(self) -> bool:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if self.agent.state.is_paired(self.origin or "", token):
            return True
        self._error(
            401, "not_paired", "Trang hoso chưa được ghép nối với phần mềm ký trên máy này.", "Not paired"
        )
        return False

    # --- HTTP verbs -----------------------------------------------------------------------------------------
    def do_OPTIONS(self) -> None:
        if not self._host_ok() or self.origin not in self.agent.origins:
            self._send(403, b"", "text/plain")
            return
        self._send(204, b"", "text/plain", self._cors() | {
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Allow-Private-Network": "true",
            "Access-Control-Max-Age": "600",
        })  # fmt: skip

    def do_GET(self) -> None:
        if not self._host_ok():
            self._send(403, b"wrong host", "text/plain")
            return
        path = urlsplit(self.path).path
        try:
            if path.startswith("/ky/"):
                self._prompt_page(path[4:])
            elif path == "/status" and self.origin is None:
                self._status()  # a program or the person checking the agent runs (curl); no pairing shown
            elif not self._api_origin_ok():
                return
            elif path == "/status":
                self._status()
            elif path == "/certificates":
                if self._paired_ok():
                    certs = list_certificates(self.agent.modules)
                    self._json(200, {"certificates": [c.to_dict() for c in certs]})
            elif path.startswith("/sign/"):
                if self._paired_ok():
                    job = self.agent.state.job(path[6:])
                    if job is None or job.origin != self.origin:
                        self._error(404, "no_such_job", "Không có yêu cầu ký này.", "No such signing job")
                    else:
                        self._json(200, job.public())
            else:
                self._error(404, "not_found", "Không có trang này.", "Not found")
        except TokenError as exc:
            self._error(409, exc.code, exc.message_vi, exc.message_en)

    def do_POST(self) -> None:
        if not self._host_ok():
            self._send(403, b"wrong host", "text/plain")
            return
        path = urlsplit(self.path).path
        try:
            if path.startswith("/ky/"):
                self._prompt_submit(path[4:])
                return
            if not self._api_origin_ok():
                return
            body = self._body()
            if path == "/pair":
                pairing_id, code = self.agent.state.start_pairing(self.origin or "")
                self.agent.say(
                    f"Mã ghép nối cho {self.origin}: {code[:3]} {code[3:]}  (nhập mã này vào trang hoso; pairing code)"
                )
                self._json(201, {"pairing": pairing_id})
            elif path == "/pair/confirm":
                token = self.agent.state.confirm_pairing(
                    self.origin or "", str(body.get("pairing", "")), str(body.get("code", ""))
                )
                self._json(201, {"token": token})
            elif path == "/sign":
                if self._paired_ok():
                    self._start_job(body)
            else:
                self._error(404, "not_found", "Không có trang này.", "Not found")
        except TokenError as exc:
            status = {"pairing_code_wrong": 403, "pairing_expired": 410, "bad_request": 400, "too_large": 413}
            self._error(status.get(exc.code, 409), exc.code, exc.message_vi, exc.message_en)

    # --- API ------------------------------------------------------------------------------------------------
    def _status(self) -> None:
        auth = self.headers.get("Authorization", "")
        paired = self.agent.state.is_paired(
            self.origin or "", auth[7:] if auth.startswith("Bearer ") else None
        )
        self._json(200, {"app": "hoso-signer", "version": VERSION, "paired": paired,
                         "tokens": describe_tokens(self.agent.modules)})  # fmt: skip

    def _start_job(self, body: Any) -> None:
        requests, documents, cert_sha = parse_request(body.get("request") if isinstance(body, dict) else None)
        cert = find_certificate(self.agent.modules, cert_sha)  # refused before any PIN is asked for
        job = Job(secrets.token_urlsafe(18), self.origin or "", cert, requests, documents)
        self.agent.state.add_job(job)
        self.agent.say(
            f"Yêu cầu ký {len(requests)} hồ sơ từ {self.origin}: hãy xem và nhập PIN trong cửa sổ ký."
        )
        self._json(
            201,
            {
                "job": job.id,
                "prompt": f"http://127.0.0.1:{self.agent.port}/ky/{job.id}",
                "count": len(requests),
            },
        )

    # --- the agent's own page: what is signed, and the PIN -------------------------------------------------
    # Referrer-Policy same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the PIN form,
    # and the form is accepted only with the agent's own origin
    def _prompt_page(self, job_id: str, status: int = 200) -> None:
        job = self.agent.state.job(job_id)
        self._send(status if job else 404, render_prompt(job).encode(), "text/html; charset=utf-8", {
            "Content-Security-Policy": PAGE_POLICY, "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"})  # fmt: skip

    def _prompt_submit(self, job_id: str) -> None:
        job = self.agent.state.job(job_id)
        if self.origin not in self.agent.own_origins or job is None:
            self._send(
                403,
                "Từ chối: biểu mẫu không đến từ cửa sổ của hoso-signer.".encode(),
                "text/plain; charset=utf-8",
            )
            return
        form = self._body()
        if not isinstance(form, dict) or not secrets.compare_digest(str(form.get("nonce", "")), job.nonce):
            self._send(403, b"bad nonce", "text/plain")
            return
        with job.lock:
            if job.status == "waiting":
                if form.get("action") == "refuse":
                    job.status, job.code = "refused", "refused"
                    job.message_vi, job.message_en = (
                        "Bạn đã từ chối ký; hồ sơ không thay đổi.",
                        "Refused by the signer",
                    )
                else:
                    self._sign(job, str(form.get("pin", "")))
        self._prompt_page(job_id)

    def _sign(self, job: Job, pin: str) -> None:
        job.pin_tries += 1
        try:
            job.answers = sign_requests(job.certificate, job.requests, pin)
            job.status, job.code, job.message_vi, job.message_en = "done", "", "", ""
            self.agent.say(f"Đã ký {len(job.answers)} hồ sơ.")
        except TokenError as exc:
            job.code, job.message_vi, job.message_en = exc.code, exc.message_vi, exc.message_en
            if exc.code != "pin_incorrect" or job.pin_tries >= PIN_TRIES_PER_JOB:
                job.status = "failed"
                if exc.code == "pin_incorrect":
                    job.message_vi += " Đã sai PIN 2 lần: phần mềm dừng lại để token không bị khóa."


def render_prompt(job: Job | None) -> str:
    e = html.escape
    head = ('<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            "<title>hoso-signer — Ký số</title><style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:1rem auto;"
            "padding:0 1rem;color:#1b1b1b}h1{font-size:1.3rem}.bad{background:#fde8e8;border-left:4px solid #b3261e;padding:.5rem}"
            ".ok{background:#e6f4ea;border-left:4px solid #1e7b34;padding:.5rem}li{margin:.2rem 0}input,button{font-size:1.1rem;"
            "padding:.4rem}button{margin-right:.5rem}.en{color:#555;font-size:.9em}dl{display:grid;grid-template-columns:auto 1fr;"
            "gap:.2rem .8rem}dt{font-weight:600}</style></head><body>")  # fmt: skip
    if job is None:
        return (
            head
            + "<h1>Yêu cầu ký không còn hiệu lực</h1><p class='en'>This signing request has expired.</p></body></html>"
        )
    docs = job.documents
    schools = sorted({d["school"] for d in docs if d["school"]})
    from asn1crypto import x509

    subject = x509.Certificate.load(job.certificate.der).subject.human_friendly
    parts = [head, f"<h1>Ký số {len(docs)} hồ sơ <span class='en'>Sign {len(docs)} record(s)</span></h1>",
             f"<p>Trang <strong>{e(job.origin)}</strong> đề nghị ký:</p><dl>",
             f"<dt>Trường</dt><dd id='truong'>{e(', '.join(schools) or '—')}</dd>",
             f"<dt>Số hồ sơ</dt><dd id='so-ho-so'>{len(docs)}</dd>",
             f"<dt>Chứng thư</dt><dd>{e(subject)}</dd><dt>USB token</dt><dd>{e(job.certificate.token_label)}</dd></dl>",
             "<ol id='danh-sach'>" + "".join(f"<li>{e(d['title'] or d['id'] or '(không tên)')}</li>" for d in docs[:200]) + "</ol>"]  # fmt: skip
    if job.status == "done":
        parts.append(f"<p class='ok' id='ket-qua' role='status'>Đã ký xong {len(docs)} hồ sơ. Quay lại trang hoso để hoàn tất. "
                     "<span class='en'>Signed; return to the hoso page.</span></p>")  # fmt: skip
    elif job.status in ("failed", "refused"):
        parts.append(
            f"<p class='bad' id='ket-qua' role='alert'>{e(job.message_vi)} <span class='en'>{e(job.message_en)}</span></p>"
        )
    else:
        if job.code:
            parts.append(
                f"<p class='bad' id='loi' role='alert'>{e(job.message_vi)} <span class='en'>{e(job.message_en)}</span></p>"
            )
        parts.append(
            f"<form method='post' action='/ky/{e(job.id)}'><input type='hidden' name='nonce' value='{e(job.nonce)}'>"
            "<p><label for='pin'>Mã PIN của USB token <span class='en'>Token PIN</span></label><br>"
            "<input id='pin' name='pin' type='password' autocomplete='off' required autofocus inputmode='numeric'></p>"
            "<p><button type='submit' name='action' value='sign' id='ky'>Ký</button>"
            "<button type='submit' name='action' value='refuse' id='tu-choi' formnovalidate>Từ chối</button></p>"
            "<p class='en'>The PIN goes only to your token; the hoso page never sees it.</p></form>"
        )
    return "".join(parts) + "</body></html>"


def run(agent: Agent) -> None:
    server = agent.serve()
    agent.say(f"hoso-signer {VERSION} đang chạy tại http://127.0.0.1:{agent.port} (Ctrl+C để dừng)")
    agent.say("Trang được phép: " + (", ".join(sorted(agent.origins)) or "(chưa có — thêm bằng --origin)"))
    agent.say("Thư viện token: " + (", ".join(agent.modules) or "(không tìm thấy — thêm bằng --module)"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
