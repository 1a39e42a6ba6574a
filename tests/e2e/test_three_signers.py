"""One học bạ signed in turn over HTTP: the teacher (two-step, key on a PKCS#11 token), the principal (two-step,
PKCS#11 token) and the school seal (server-held PKCS#12), ending at B-LTA; an offline validation passes all three."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import pem

from tests.factories import boot, make_pdf
from tests.processes import LiveServer, stop_server

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "123456"
TEACHER = "Trần Thị Thử (TEST)"
PRINCIPAL = "Nguyễn Văn Mẫu (TEST)"


def _softhsm_missing() -> bool:
    return not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    if _softhsm_missing():
        if os.environ.get("CI") == "true":
            pytest.fail("SoftHSM is not installed (make test installs softhsm2 and opensc)")
        pytest.skip("SoftHSM is not installed")
    s = boot(tmp_path)
    yield s
    stop_server(s)


def _token(tmp_path: Path, pki: Path) -> dict[str, str]:
    """A SoftHSM token holding the teacher's and the principal's keys and certificates (their 'USB tokens')."""
    d = tmp_path / "softhsm"
    (d / "tokens").mkdir(parents=True)
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, env=env)

    run("softhsm2-util", "--init-token", "--free", "--label", "ca-nhan", "--so-pin", "87654321", "--pin", PIN)
    for key_id, who in (("01", "teacher"), ("02", "principal")):
        run("softhsm2-util", "--import", str(pki / "keys" / f"{who}.key.pem"), "--token", "ca-nhan",
            "--label", who, "--id", key_id, "--pin", PIN)  # fmt: skip
        der = tmp_path / f"{who}.der"
        _, _, body = pem.unarmor((pki / f"{who}.cert.pem").read_bytes())
        der.write_bytes(body)
        run("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", "ca-nhan", "--login", "--pin", PIN,
            "--write-object", str(der), "--type", "cert", "--id", key_id, "--label", who)  # fmt: skip
    return {"SOFTHSM2_CONF": str(conf), "HOSO_TOKEN_PIN": PIN}


def _person(server: LiveServer, username: str, full_name: str, role: str) -> str:
    server.cli("user", "create", username, "--full-name", full_name, "--org", "T01")
    server.cli("user", "grant", username, role, "T01")
    return server.token(username)


def _two_step(
    server: LiveServer, token: str, doc_id: str, who: str, pki: Path, hsm_env: dict[str, str], tmp: Path
):
    with server.client(token) as c:
        r = c.post(
            f"/api/v1/documents/{doc_id}/signing-sessions",
            json={"certificate": (pki / f"{who}.cert.pem").read_text(), "reason": f"{who} ký"},
        )
        assert r.status_code == 201, r.text
        session = r.json()
        assert "prepared_pdf" not in json.dumps(
            session["request"]
        )  # the signer gets a digest, not the document
        request_file = tmp / f"{who}-request.json"
        request_file.write_text(json.dumps(session["request"]))
        sig_file = tmp / f"{who}-signature.json"
        # the signer's own computer: `hoso sign-digest` with the key on their token
        signed = subprocess.run(
            [".venv/bin/python", "-m", "hoso.cli", "sign-digest", str(request_file), "--out", str(sig_file),
             "--pkcs11-module", SOFTHSM_MODULE, "--token-label", "ca-nhan", "--key-label", who],
            env={**server.env, **hsm_env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        r = c.put(f"/api/v1/signing-sessions/{session['session_id']}", json=json.loads(sig_file.read_text()))
        assert r.status_code == 200, r.text
        return r.json()


def test_teacher_principal_and_seal_end_at_b_lta_and_all_pass_offline(server: LiveServer, tmp_path: Path):
    pki = tmp_path / "var" / "dev-pki"
    hsm_env = _token(tmp_path, pki)
    teacher = _person(server, "gv.thu", TEACHER, "gvcn")
    principal = _person(server, "ht.mau", PRINCIPAL, "hieu_truong")
    clerk = _person(server, "vt.lan", "Lê Thị Lan", "van_thu")
    # their certificates registered to their accounts, and the class's homeroom teacher on the roster
    server.cli("user", "cert", "add", "gv.thu", str(pki / "teacher.cert.pem"))
    server.cli("user", "cert", "add", "ht.mau", str(pki / "principal.cert.pem"))
    roster = tmp_path / "phan-cong.csv"
    roster.write_text(
        "nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,to_truong\n2024-2025,12A1,Ngữ văn,gv.thu,gv.thu,Tổ Ngữ văn,\n",
        encoding="utf-8",
    )
    server.cli("roster", "import", "--school", "T01", str(roster))

    pdf = make_pdf(tmp_path / "Học bạ 12A1 — 2024-2025.pdf", pages=4)
    with server.client(clerk) as c:
        form = {
            "school": "T01",
            "type": "so-theo-doi-danh-gia-lop",  # homeroom teacher → principal → seal
            "year": "2024-2025",
            "teacher": TEACHER,
            "class_name": "12A1",
        }
        r = c.post("/api/v1/documents", data=form, files={"file": (pdf.name, pdf.read_bytes())})
        assert r.status_code == 201, r.text
        doc_id = r.json()["id"]
        # a teacher may not apply the school seal
    with server.client(teacher) as c:
        assert c.post(f"/api/v1/documents/{doc_id}/signatures", json={}).status_code == 403

    _two_step(server, teacher, doc_id, "teacher", pki, hsm_env, tmp_path)
    _two_step(server, principal, doc_id, "principal", pki, hsm_env, tmp_path)
    with server.client(clerk) as c:
        r = c.post(f"/api/v1/documents/{doc_id}/signatures", json={"reason": "Đóng dấu của trường"})
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["version"] == 4 and doc["validation"]["verdict"] == "TOTAL_PASSED"
        history = [(v["number"], v["created_by"], v["signed"]) for v in doc["versions"]]
        assert history == [
            (1, "vt.lan", False),
            (2, "gv.thu", True),
            (3, "ht.mau", True),
            (4, "vt.lan", True),
        ]
        final = c.get(f"/api/v1/documents/{doc_id}/content")
        assert final.status_code == 200
        validation = c.get(f"/api/v1/documents/{doc_id}/validation").json()
        assert validation["verdict"] == "TOTAL_PASSED"

    signed_file = tmp_path / "final.pdf"
    signed_file.write_bytes(final.content)
    offline = server.cli("validate", str(signed_file), "--json", "--trust-root", str(pki / "root.cert.pem"))
    report = json.loads(offline.stdout)
    assert report["verdict"] == "TOTAL_PASSED"
    sigs = [s for s in report["signatures"] if s.get("kind") != "document_timestamp"]
    names = [s["signer"] or "" for s in sigs]
    assert any(TEACHER in n for n in names) and any(PRINCIPAL in n for n in names)
    assert all(s["verdict"] == "TOTAL_PASSED" and s["intact"] and s["trusted"] for s in report["signatures"])
    order = [i for i, n in enumerate(names) if TEACHER in n or PRINCIPAL in n]
    assert TEACHER in names[order[0]] and PRINCIPAL in names[order[1]]
    assert any(s.get("level") == "B-LTA" for s in report["signatures"])
