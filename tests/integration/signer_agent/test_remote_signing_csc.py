"""Remote signing (CSC API v2) against the CSC simulator: linking reads the credential and its certificate through the
OAuth2 code flow; signing many documents is one confirmation and one signHash; the SAD works once and expires; a
refusal, a wrong OTP or other hashes than those confirmed sign nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asn1crypto import pem

from signing import finish_deferred, prepare_deferred
from signing.csc import CscProvider, RemoteSigningError, sign_requests_remotely
from signing.devpki import ensure_dev_pki
from tests.csc_simulator import CscSimulator
from tests.factories import make_pdf

CALLBACK = "http://127.0.0.1:8000/tai-khoan/ky-tu-xa/xong"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("csc") / "dev-pki"
    ensure_dev_pki(directory, "http://127.0.0.1:9")
    return directory


@pytest.fixture
def sim(pki: Path) -> Iterator[CscSimulator]:
    s = CscSimulator(pki).start()
    yield s
    s.stop()


def provider(sim: CscSimulator) -> CscProvider:
    return CscProvider(sim.url, sim.client_id, sim.client_secret, CALLBACK)


def confirm(url: str, otp: str, action: str = "confirm") -> dict[str, list[str]]:
    """The person in the provider's page (the phone app in real life): reads what is asked, types the OTP."""
    page = httpx.get(url)
    assert page.status_code == 200
    fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    r = httpx.post(urlsplit(url)._replace(query="").geturl(), data=fields | {"otp": otp, "action": action})
    if r.status_code != 302:
        return {"page": [r.text]}
    location = r.headers["location"]
    assert location.startswith(CALLBACK)
    return parse_qs(urlsplit(location).query)


def link(sim: CscSimulator):
    p = provider(sim)
    answer = confirm(p.authorize_url(state="s1"), sim.otp)
    assert answer["state"] == ["s1"]
    credentials = p.credentials(p.exchange_code(answer["code"][0]))
    assert len(credentials) == 1
    return p, credentials[0]


def requests_for(pki: Path, tmp: Path, n: int) -> list:
    out = []
    for i in range(n):
        pdf = make_pdf(tmp / f"kh-{i}.pdf", pages=1, extra=f"csc-{i}".encode())
        prepared = prepare_deferred(
            pdf.read_bytes(), pki / "teacher.cert.pem", level="B-B", check_certificate=False
        )
        out.append((prepared.to_request_dict() | {"session_id": f"s{i}"}, prepared))
    return out


def test_linking_binds_the_credential_and_its_certificate(sim: CscSimulator, pki: Path):
    _, credential = link(sim)
    assert credential.credential_id == "cred-1"
    assert credential.certificate == pem.unarmor((pki / "teacher.cert.pem").read_bytes())[2]


def test_many_documents_one_confirmation_one_sign_hash_and_the_sad_works_once(
    sim: CscSimulator, pki: Path, tmp_path: Path
):
    p, credential = link(sim)
    items = requests_for(pki, tmp_path, 5)
    hashes = [prepared.digest for _, prepared in items]
    answer = confirm(
        p.authorize_url(state="s2", credential_id=credential.credential_id, hashes=hashes), sim.otp
    )
    sad = p.exchange_code(answer["code"][0])
    answers = sign_requests_remotely(p, sad, credential, [body for body, _ in items])
    assert sim.signed == 5 and [a["session_id"] for a in answers] == [f"s{i}" for i in range(5)]
    for (_, prepared), a in zip(items, answers, strict=True):
        assert b"/ByteRange" in finish_deferred(
            prepared.state, a
        )  # checked against the certificate, embedded
    with pytest.raises(RemoteSigningError) as used:
        sign_requests_remotely(p, sad, credential, [body for body, _ in items])
    assert used.value.code == "expired" and sim.signed == 5


def test_expired_confirmation_signs_nothing(sim: CscSimulator, pki: Path, tmp_path: Path):
    p, credential = link(sim)
    items = requests_for(pki, tmp_path, 1)
    sim.token_ttl = 0
    answer = confirm(p.authorize_url(state="s3", credential_id=credential.credential_id,
                                     hashes=[items[0][1].digest]), sim.otp)  # fmt: skip
    sad = p.exchange_code(answer["code"][0])
    with pytest.raises(RemoteSigningError) as expired:
        sign_requests_remotely(p, sad, credential, [items[0][0]])
    assert expired.value.code == "expired" and sim.signed == 0


def test_refusal_wrong_otp_and_other_hashes_sign_nothing(sim: CscSimulator, pki: Path, tmp_path: Path):
    p, credential = link(sim)
    items = requests_for(pki, tmp_path, 2)
    url = p.authorize_url(state="s4", credential_id=credential.credential_id, hashes=[items[0][1].digest])
    assert confirm(url, sim.otp, action="refuse") == {"error": ["access_denied"], "state": ["s4"]}
    assert "Mã OTP không đúng" in confirm(url, "000000")["page"][0]
    # confirmed for document 0, used for document 1: the provider refuses
    sad = p.exchange_code(confirm(url, sim.otp)["code"][0])
    with pytest.raises(RemoteSigningError) as other:
        sign_requests_remotely(p, sad, credential, [items[1][0]])
    assert other.value.code == "refused" and sim.signed == 0
    # a request prepared for another certificate never reaches the provider
    principal = prepare_deferred(make_pdf(tmp_path / "p.pdf", pages=1).read_bytes(), pki / "principal.cert.pem",
                                 level="B-B", check_certificate=False)  # fmt: skip
    with pytest.raises(RemoteSigningError) as foreign:
        sign_requests_remotely(p, sad, credential, [principal.to_request_dict()])
    assert foreign.value.code == "bad_request"
