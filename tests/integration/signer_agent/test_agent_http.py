"""The signer agent as a real process with a SoftHSM token: who may talk to it (origin, host, pairing), what it lists,
what it signs (only after the PIN is typed in its own page), and what a wrong PIN or a foreign certificate does."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from signing import finish_deferred, prepare_deferred
from signing.devpki import ensure_dev_pki
from tests.factories import make_pdf
from tests.signer_agent_kit import PIN, AgentProcess, make_token, require_softhsm, start_agent, stop_agent

HOSO = "http://127.0.0.1:18080"
OTHER = "http://127.0.0.1:18081"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki") / "dev-pki"
    ensure_dev_pki(directory, "http://127.0.0.1:9")  # no TSA/OCSP needed for B-B
    return directory


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory, pki: Path) -> Iterator[AgentProcess]:
    require_softhsm()
    home = tmp_path_factory.mktemp("agent")
    hsm = make_token(home / "softhsm", pki, people=("teacher",))  # the principal's key is NOT on this token
    agent = start_agent(home / "state", [HOSO], hsm)
    yield agent
    stop_agent(agent)


@pytest.fixture(scope="module")
def token(agent: AgentProcess) -> str:
    return agent.pair(HOSO)


def _request(pki: Path, who: str, pdf: Path, title: str) -> tuple[dict, object]:
    prepared = prepare_deferred(
        pdf.read_bytes(), pki / f"{who}.cert.pem", level="B-B", check_certificate=False
    )
    body = prepared.to_request_dict() | {
        "session_id": f"s-{title}",
        "document": {"title": title, "school": "THPT Thử"},
    }
    return body, prepared


def _prompt(agent: AgentProcess, job_url: str) -> tuple[str, str]:
    page = httpx.get(job_url)
    nonce = re.search(r"name='nonce' value='([^']+)'", page.text)
    assert page.status_code == 200 and nonce, page.text
    return page.text, nonce.group(1)


def _submit(
    agent: AgentProcess, job_url: str, nonce: str, pin: str, origin: str | None = None
) -> httpx.Response:
    return httpx.post(job_url, data={"nonce": nonce, "pin": pin, "action": "sign"},
                      headers={"Origin": origin or agent.url})  # fmt: skip


def test_status_answers_hoso_only_and_lists_the_token(agent: AgentProcess):
    r = httpx.get(agent.url + "/status", headers={"Origin": HOSO})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == HOSO
    body = r.json()
    assert body["app"] == "hoso-signer" and body["version"] and body["paired"] is False
    assert [t["label"] for t in body["tokens"]] == ["ca-nhan"]
    other = httpx.get(agent.url + "/status", headers={"Origin": OTHER})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    preflight = httpx.options(
        agent.url + "/sign", headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    # a DNS-rebinding page reaches 127.0.0.1 under another host name: refused
    rebound = httpx.get(agent.url + "/status", headers={"Host": "evil.example:80", "Origin": HOSO})
    assert rebound.status_code == 403


def test_pairing_code_appears_only_on_the_console_and_wrong_codes_end_the_pairing(agent: AgentProcess):
    r = httpx.post(agent.url + "/pair", headers={"Origin": HOSO}, json={})
    assert r.status_code == 201 and "code" not in r.json()
    pairing, code = r.json()["pairing"], agent.pairing_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        r = httpx.post(
            agent.url + "/pair/confirm", headers={"Origin": HOSO}, json={"pairing": pairing, "code": wrong}
        )
        assert r.status_code == 403 and r.json()["error"] == "pairing_code_wrong"
    # after three wrong codes even the right one no longer works
    r = httpx.post(
        agent.url + "/pair/confirm", headers={"Origin": HOSO}, json={"pairing": pairing, "code": code}
    )
    assert r.status_code == 410 and r.json()["error"] == "pairing_expired"
    # unpaired: no certificates, no signing
    assert httpx.get(agent.url + "/certificates", headers={"Origin": HOSO}).status_code == 401
    forged = httpx.get(
        agent.url + "/certificates", headers={"Origin": HOSO, "Authorization": "Bearer guessed"}
    )
    assert forged.status_code == 401 and forged.json()["error"] == "not_paired"


def test_paired_page_lists_certificates_and_the_token_of_another_origin_is_useless(
    agent: AgentProcess, token: str, pki: Path
):
    r = httpx.get(agent.url + "/certificates", headers={"Origin": HOSO, "Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    certs = r.json()["certificates"]
    teacher_der = base64.b64decode((pki / "teacher.cert.pem").read_text().split("-----")[2])
    assert [c["sha256"] for c in certs] == [hashlib.sha256(teacher_der).hexdigest()]
    assert "Trần Thị Thử" in certs[0]["subject"] and certs[0]["token"] == "ca-nhan"
    status = httpx.get(agent.url + "/status", headers={"Origin": HOSO, "Authorization": f"Bearer {token}"})
    assert status.json()["paired"] is True


def test_signs_a_batch_with_one_pin_and_the_signatures_embed(
    agent: AgentProcess, token: str, pki: Path, tmp_path: Path
):
    prepared = []
    requests = []
    for n in range(3):
        pdf = make_pdf(tmp_path / f"so-{n}.pdf", pages=1, extra=f"agent-{n}".encode())
        body, state = _request(pki, "teacher", pdf, f"Sổ đăng bộ 10A{n}")
        requests.append(body)
        prepared.append(state)
    batch = {"version": 1, "type": "hoso-sign-batch-request", "requests": requests}
    auth = {"Origin": HOSO, "Authorization": f"Bearer {token}"}
    r = httpx.post(agent.url + "/sign", headers=auth, json={"request": batch})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["count"] == 3 and job["prompt"].startswith(agent.url + "/ky/")
    page, nonce = _prompt(agent, job["prompt"])
    # what is signed is shown before the PIN: school, count, every title
    assert (
        "THPT Thử" in page
        and "Sổ đăng bộ 10A0" in page
        and "Sổ đăng bộ 10A2" in page
        and "id='so-ho-so'>3<" in page
    )
    # the hoso page (another origin) cannot submit the PIN form, and cannot read a result yet
    assert _submit(agent, job["prompt"], nonce, PIN, origin=HOSO).status_code == 403
    assert httpx.get(f"{agent.url}/sign/{job['job']}", headers=auth).json()["status"] == "waiting"
    done = _submit(agent, job["prompt"], nonce, PIN)
    assert done.status_code == 200 and "Đã ký xong 3 hồ sơ" in done.text
    result = httpx.get(f"{agent.url}/sign/{job['job']}", headers=auth).json()
    assert result["status"] == "done"
    answers = result["response"]["signatures"]
    assert [a["session_id"] for a in answers] == [f"s-Sổ đăng bộ 10A{n}" for n in range(3)]
    assert PIN not in json.dumps(result)
    for state, answer in zip(prepared, answers, strict=True):
        signed = finish_deferred(
            state.state, answer
        )  # verifies the value against the certificate, then embeds
        assert signed.count(b"/ByteRange") >= 1


def test_wrong_pin_twice_stops_without_signing(agent: AgentProcess, token: str, pki: Path, tmp_path: Path):
    body, _ = _request(pki, "teacher", make_pdf(tmp_path / "a.pdf", pages=1, extra=b"pin"), "Học bạ 12A1")
    auth = {"Origin": HOSO, "Authorization": f"Bearer {token}"}
    job = httpx.post(agent.url + "/sign", headers=auth, json={"request": body}).json()
    _, nonce = _prompt(agent, job["prompt"])
    first = _submit(agent, job["prompt"], nonce, "000000")
    assert "Mã PIN không đúng. Chưa hồ sơ nào được ký." in first.text and "id='pin'" in first.text
    assert httpx.get(f"{agent.url}/sign/{job['job']}", headers=auth).json()["status"] == "waiting"
    second = _submit(agent, job["prompt"], nonce, "111111")
    assert "Đã sai PIN 2 lần" in second.text and "id='pin'" not in second.text
    state = httpx.get(f"{agent.url}/sign/{job['job']}", headers=auth).json()
    assert state["status"] == "failed" and state["error"] == "pin_incorrect" and "response" not in state
    # the right PIN after that changes nothing: the job is over (a new signing needs a new request)
    third = _submit(agent, job["prompt"], nonce, PIN)
    assert "Đã sai PIN 2 lần" in third.text
    assert httpx.get(f"{agent.url}/sign/{job['job']}", headers=auth).json()["status"] == "failed"


def test_request_for_a_certificate_not_on_the_token_is_refused_before_any_pin(
    agent: AgentProcess, token: str, pki: Path, tmp_path: Path
):
    body, _ = _request(pki, "principal", make_pdf(tmp_path / "b.pdf", pages=1, extra=b"x"), "Sổ đăng bộ")
    r = httpx.post(agent.url + "/sign", headers={"Origin": HOSO, "Authorization": f"Bearer {token}"},
                   json={"request": body})  # fmt: skip
    assert r.status_code == 409 and r.json()["error"] == "certificate_not_on_token"
    assert "không có trên USB token" in r.json()["message"]
    junk = httpx.post(agent.url + "/sign", headers={"Origin": HOSO, "Authorization": f"Bearer {token}"},
                      json={"request": {"type": "hoso-sign-request"}})  # fmt: skip
    assert junk.status_code == 400 and junk.json()["error"] == "bad_request"
