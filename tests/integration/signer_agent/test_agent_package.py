"""`make signer` builds hoso-signer alone: a wheel naming only what the agent needs, and a single-file zipapp that
runs outside this project (isolated interpreter, another folder) and sees the token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from signing.devpki import ensure_dev_pki
from tests.processes import ROOT, free_port
from tests.signer_agent_kit import SOFTHSM_MODULE, make_token, require_softhsm

pytestmark = pytest.mark.slow


def test_make_signer_builds_a_wheel_and_a_zipapp_that_run_alone(tmp_path: Path):
    require_softhsm()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_signer.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    wheel = next((tmp_path / "dist").glob("hoso_signer-*-py3-none-any.whl"))
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        metadata = next(whl.read(n).decode() for n in names if n.endswith("METADATA"))
        entry = next(whl.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert {n.split("/")[0] for n in names if n.endswith(".py")} == {"signer_agent", "signing"}
    requires = [line.split(":", 1)[1].strip().split("[")[0].split(">")[0] for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]  # fmt: skip
    assert "fastapi" not in requires and "sqlalchemy" not in requires and "python-pkcs11" in requires
    assert "hoso-signer = signer_agent.cli:main" in entry

    pki = tmp_path / "pki"
    ensure_dev_pki(pki, "http://127.0.0.1:9")
    hsm = make_token(tmp_path / "softhsm", pki, people=("teacher",))
    port = free_port()
    elsewhere = tmp_path / "may-giao-vien"
    elsewhere.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(elsewhere), "SHIV_ROOT": str(elsewhere / "shiv"), **hsm}
    proc = subprocess.Popen(
        [sys.executable, "-I", str(tmp_path / "dist" / "hoso-signer.pyz"), "--port", str(port),
         "--no-common-modules", "--module", SOFTHSM_MODULE, "--origin", "https://hoso.example"],
        cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        body = None
        for _ in range(300):
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.1)
        assert body is not None
        assert body["app"] == "hoso-signer" and [t["label"] for t in body["tokens"]] == ["ca-nhan"]
    finally:
        proc.terminate()
        proc.wait(10)
