"""`hoso` run as a child process: one command (run_cli) or the server (start_server / stop_server, LiveServer), and
the free ports they listen on."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


class LiveServer:
    def __init__(self, base_url: str, env: dict[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
        self.base_url = base_url
        self.env = env
        self.proc = proc
        self.log = log

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env, check=check)

    def token(self, user: str = "admin") -> str:
        return self.cli("token", "create", "--user", user).stdout.strip().splitlines()[-1]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


def run_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "hoso.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hoso {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], log: Path, extra_args: list[str] | None = None) -> LiveServer:
    """`extra_args`: more `hoso serve` options (--workers N)."""
    port = free_port()
    # the commands a test runs next to the server (hoso user cert add …) must see the same base URL: the dev PKI's
    # certificates carry it in their CRL/OCSP addresses, and a command with another one would rewrite them
    env = env | {"HOSO_BASE_URL": env.get("HOSO_BASE_URL") or f"http://127.0.0.1:{port}"}
    out = open(log, "wb")  # noqa: SIM115 — the server process owns it until stop_server
    proc = subprocess.Popen(
        [sys.executable, "-m", "hoso.cli", "serve", "--port", str(port), *(extra_args or [])],
        env=env,
        stdout=out,
        stderr=out,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    # on two cores shared with other test runs, a worker process can take minutes to import the app
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text(errors='replace')}")
        try:
            httpx.get(base + "/api/v1/health", timeout=2)
            return LiveServer(base, env, proc, log)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()  # uvicorn's parent stops the workers it started; a SIGKILL would leave them running
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    raise AssertionError(f"server did not start:\n{log.read_text(errors='replace')}")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
