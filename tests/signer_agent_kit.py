"""A signer's computer for tests: a SoftHSM token holding dev-PKI keys, and a real `hoso signer-agent` process whose
console (where the pairing code appears) the test reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from asn1crypto import pem

from tests.processes import ROOT, free_port

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "123456"
TOKEN_LABEL = "ca-nhan"


def require_softhsm() -> None:
    if not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("SoftHSM is not installed (make test installs softhsm2 and opensc)")
        pytest.skip("SoftHSM is not installed")


def make_token(
    directory: Path, pki: Path, people: tuple[str, ...] = ("teacher", "principal")
) -> dict[str, str]:
    """A SoftHSM token labelled ca-nhan with each person's key and certificate (id 01, 02…): their 'USB token'."""
    (directory / "tokens").mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, env=env)

    run(
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        TOKEN_LABEL,
        "--so-pin",
        "87654321",
        "--pin",
        PIN,
    )
    for n, who in enumerate(people, 1):
        key_id = f"{n:02d}"
        run("softhsm2-util", "--import", str(pki / "keys" / f"{who}.key.pem"), "--token", TOKEN_LABEL,
            "--label", who, "--id", key_id, "--pin", PIN)  # fmt: skip
        der = directory / f"{who}.der"
        der.write_bytes(pem.unarmor((pki / f"{who}.cert.pem").read_bytes())[2])
        run("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--login", "--pin", PIN,
            "--write-object", str(der), "--type", "cert", "--id", key_id, "--label", who)  # fmt: skip
    return {"SOFTHSM2_CONF": str(conf)}


@dataclass
class AgentProcess:
    url: str
    port: int
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def pairing_code(self, timeout: float = 10) -> str:
        """The newest code the agent printed on its own console (what the person reads off the agent's window)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in reversed(self.lines):
                found = re.search(r"Mã ghép nối .*: (\d{3}) (\d{3})", line)
                if found:
                    return found.group(1) + found.group(2)
            time.sleep(0.05)
        raise AssertionError("the agent printed no pairing code:\n" + "\n".join(self.lines))

    def pair(self, origin: str) -> str:
        """Pair like a hoso page would (Origin header), reading the code off the console; returns the token."""
        self.lines.clear()
        r = httpx.post(self.url + "/pair", headers={"Origin": origin}, json={})
        assert r.status_code == 201, r.text
        r = httpx.post(self.url + "/pair/confirm", headers={"Origin": origin},
                       json={"pairing": r.json()["pairing"], "code": self.pairing_code()})  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def start_agent(
    state: Path, origins: list[str], hsm_env: dict[str, str], port: int | None = None
) -> AgentProcess:
    port = port or free_port()
    args = [sys.executable, "-m", "hoso.cli", "signer-agent", "--port", str(port), "--no-common-modules",
            "--module", SOFTHSM_MODULE, "--state-dir", str(state)]  # fmt: skip
    for origin in origins:
        args += ["--origin", origin]
    proc = subprocess.Popen(args, env=dict(os.environ, **hsm_env), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    agent = AgentProcess(f"http://127.0.0.1:{port}", port, proc)
    assert proc.stdout is not None
    out = proc.stdout

    def read() -> None:
        for line in out:
            agent.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(agent.url + "/status", timeout=2).status_code == 200:
                return agent
        except httpx.TransportError:
            if proc.poll() is not None:
                break
        time.sleep(0.1)
    stop_agent(agent)
    raise AssertionError("the signer agent did not start:\n" + "\n".join(agent.lines))


def stop_agent(agent: AgentProcess) -> None:
    if agent.proc.poll() is None:
        agent.proc.terminate()
        try:
            agent.proc.wait(10)
        except subprocess.TimeoutExpired:
            agent.proc.kill()
            agent.proc.wait()
