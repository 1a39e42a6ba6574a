"""What the agent remembers: paired hoso origins (on disk, hashed), pending pairing codes and signing jobs (memory).

Pairing: a hoso page asks to pair; the agent shows a 6-digit code on ITS OWN console (never over HTTP), the person
types that code into the hoso page, and the page gets a random token it keeps. Every later call carries the token, so
another web page (CORS refuses it anyway) or another program on the computer cannot use the agent without the
person reading the code off the agent's window.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tokens import TokenCertificate, TokenError

PAIRING_TTL = 300.0
PAIRING_TRIES = 3
JOB_TTL = 600.0
PIN_TRIES_PER_JOB = 2  # below every token's lock count (3–15): the agent alone can never lock a token
MAX_REQUESTS = 200


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Pairing:
    origin: str
    code: str
    created: float = field(default_factory=time.monotonic)
    tries: int = 0


@dataclass
class Job:
    id: str
    origin: str
    certificate: TokenCertificate
    requests: list[dict[str, Any]]
    documents: list[dict[str, str]]
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    created: float = field(default_factory=time.monotonic)
    status: str = "waiting"  # waiting → done | refused | failed
    pin_tries: int = 0
    answers: list[dict[str, Any]] | None = None
    code: str = ""
    message_vi: str = ""
    message_en: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)  # one PIN submission at a time

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "count": len(self.requests)}
        if self.code:
            out |= {"error": self.code, "message": self.message_vi, "message_en": self.message_en}
        if self.status == "done":
            out["response"] = {"version": 1, "type": "hoso-sign-batch-response", "signatures": self.answers}
        return out


class AgentState:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._lock = threading.Lock()
        self._pairings: dict[str, Pairing] = {}
        self.jobs: dict[str, Job] = {}

    # --- pairing --------------------------------------------------------------------------------------------
    @property
    def _paired_file(self) -> Path:
        return self.state_dir / "paired.json"

    def _paired(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self._paired_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def is_paired(self, origin: str, token: str | None) -> bool:
        return bool(token) and _hash(token or "") in self._paired().get(origin, [])

    def start_pairing(self, origin: str) -> tuple[str, str]:
        with self._lock:
            now = time.monotonic()
            self._pairings = {k: p for k, p in self._pairings.items() if now - p.created < PAIRING_TTL}
            pairing_id, code = secrets.token_urlsafe(12), f"{secrets.randbelow(10**6):06d}"
            self._pairings[pairing_id] = Pairing(origin, code)
            return pairing_id, code

    def confirm_pairing(self, origin: str, pairing_id: str, code: str) -> str:
        with self._lock:
            pairing = self._pairings.get(pairing_id)
            if (
                pairing is None
                or pairing.origin != origin
                or time.monotonic() - pairing.created > PAIRING_TTL
            ):
                raise TokenError(
                    "pairing_expired",
                    "Yêu cầu ghép nối đã hết hạn. Hãy bấm ghép nối lại.",
                    "The pairing request expired; start again",
                )
            if not secrets.compare_digest(pairing.code, code.replace(" ", "")):
                pairing.tries += 1
                if pairing.tries >= PAIRING_TRIES:
                    del self._pairings[pairing_id]
                raise TokenError(
                    "pairing_code_wrong",
                    "Mã ghép nối không đúng. Hãy nhập mã đang hiện trên cửa sổ của hoso-signer.",
                    "Wrong pairing code",
                )
            del self._pairings[pairing_id]
            token = secrets.token_urlsafe(32)
            paired = self._paired()
            paired.setdefault(origin, []).append(_hash(token))
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self._paired_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(paired, indent=1), encoding="utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._paired_file)
            return token

    # --- jobs -----------------------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        with self._lock:
            now = time.monotonic()
            self.jobs = {k: j for k, j in self.jobs.items() if now - j.created < JOB_TTL}
            self.jobs[job.id] = job

    def job(self, job_id: str) -> Job | None:
        found = self.jobs.get(job_id)
        if found is None or time.monotonic() - found.created > JOB_TTL:
            return None
        return found


def parse_request(body: Any) -> tuple[list[dict[str, Any]], list[dict[str, str]], str]:
    """(requests, what each document is, the certificate's SHA-256) from a hoso (batch) signing request."""

    def bad(why: str) -> TokenError:
        return TokenError(
            "bad_request", f"Yêu cầu ký không hợp lệ: {why}", f"Not a hoso signing request: {why}"
        )

    if not isinstance(body, dict):
        raise bad("không phải đối tượng JSON")
    items = body.get("requests") if body.get("type") == "hoso-sign-batch-request" else [body]
    if not isinstance(items, list) or not items:
        raise bad("không có hồ sơ nào")
    if len(items) > MAX_REQUESTS:
        raise bad(f"quá {MAX_REQUESTS} hồ sơ")
    certs, documents = set(), []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "hoso-sign-request":
            raise bad("thiếu mục hoso-sign-request")
        sha = item.get("certificate_sha256")
        if not isinstance(sha, str) or len(sha) != 64 or not isinstance(item.get("signed_attributes"), str):
            raise bad("thiếu chứng thư hoặc dữ liệu cần ký")
        certs.add(sha)
        doc = item.get("document")
        doc = doc if isinstance(doc, dict) else {}
        documents.append({k: str(doc.get(k) or "")[:300] for k in ("title", "school", "id")})
    if len(certs) != 1:
        raise bad("các hồ sơ phải ký bằng cùng một chứng thư")
    return items, documents, certs.pop()
