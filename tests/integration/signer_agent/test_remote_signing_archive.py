"""Remote signing through hoso (archive.remote_signing) against the CSC simulator, on PostgreSQL or SQLite as the
suite runs: linking registers the provider's certificate to the person; one record, or several with one confirmation;
an expired confirmation, a refusal and a certificate already someone else's sign nothing; a state is the person's
own; and a whole chain where the homeroom teacher signs remotely and the principal with a USB token (SoftHSM) ends
TOTAL_PASSED."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

import signing
from archive import chains, remote_signing
from archive.chain_models import SigningCertificate
from archive.context import Archive
from archive.documents import get_document, open_content
from archive.errors import ArchiveError
from archive.models import Event, User
from archive.remote_signing_models import RemoteSigningAccount
from archive.signatures import finish_signing_session, setup_of, sign_document, start_signing_session
from archive.signing_models import SigningSession
from tests.csc_simulator import CscSimulator
from tests.integration.signer_agent.remote_kit import PROVIDER, upload, user_of
from tests.processes import run_cli
from tests.signer_agent_kit import PIN, SOFTHSM_MODULE, TOKEN_LABEL, make_token, require_softhsm


def _link(a: Archive, sim: CscSimulator, username: str = "gv.cn") -> RemoteSigningAccount:
    user = user_of(a, username)
    back = sim.answer(remote_signing.link_url(a, user, PROVIDER))
    payload = remote_signing.open_state(a.settings, user, back["state"])
    [account] = remote_signing.finish_link(a, user, payload, back["code"])
    return account


def _sign(a: Archive, sim: CscSimulator, account: RemoteSigningAccount, doc_ids: list[str], **answer: str):
    user = user_of(a, "gv.cn")
    batch = remote_signing.start_signing(a, user, account.id, doc_ids)
    assert batch.authorize_url is not None
    back = sim.answer(batch.authorize_url, **answer)
    payload = remote_signing.open_state(a.settings, user, back["state"])
    return remote_signing.finish_signing(a, user, payload, code=back.get("code"), error=back.get("error"))


def _version(a: Archive, doc_id: str) -> int:
    with a.sessions() as s:
        return get_document(s, doc_id).current.number


def test_linking_registers_the_providers_certificate_to_the_person(school: Archive, sim: CscSimulator):
    account = _link(school, sim)
    assert account.credential_id == "cred-1" and account.label.startswith("SmartCA Thử · Đỗ Thị Chủ Nhiệm")
    with school.sessions() as s:
        cert = s.get(SigningCertificate, account.certificate_id)
        assert cert is not None and cert.user.username == "gv.cn"
        assert cert.sha256 == hashlib.sha256(sim.certificate).hexdigest()
        assert [
            e.detail["credential"]
            for e in s.scalars(select(Event).where(Event.action == "remote_signing.link"))
        ] == ["cred-1"]
    again = _link(school, sim)  # linking again refreshes the binding, no second row
    assert again.id == account.id
    remote_signing.unlink(school, user_of(school, "gv.cn"), account.id)
    with school.sessions() as s:
        assert s.scalars(select(RemoteSigningAccount)).all() == []
        assert s.scalar(select(Event).where(Event.action == "remote_signing.unlink")) is not None


def test_a_credential_whose_certificate_is_someone_elses_is_refused(school: Archive, sim: CscSimulator):
    _link(school, sim, "gv.khac")  # the other teacher links first: the certificate is now his
    with pytest.raises(ArchiveError) as taken:
        _link(school, sim, "gv.cn")
    assert taken.value.code == "certificate_taken" and taken.value.status == 409
    with school.sessions() as s:
        owners = [r.user_id for r in s.scalars(select(RemoteSigningAccount))]
        assert owners == [user_of(school, "gv.khac").id]
        assert s.scalar(select(Event).where(Event.action == "certificate.refused")) is not None


def test_one_record_then_several_with_one_confirmation(school: Archive, sim: CscSimulator, tmp_path: Path):
    account = _link(school, sim)
    one = upload(school, tmp_path, "Sổ theo dõi 10A1 tháng 9")
    [item] = _sign(school, sim, account, [one])
    assert item.version is not None and item.version.number == 2 and sim.signed == 1
    many = [upload(school, tmp_path, f"Sổ theo dõi 10A1 tuần {n}") for n in range(1, 4)]
    items = _sign(school, sim, account, [*many, one])  # the first one is no longer the teacher's turn
    signed = [i.document_id for i in items if i.version is not None]
    refused = {i.document_id: i.error.code for i in items if i.error is not None}
    assert sorted(signed) == sorted(many) and sim.signed == 4  # three more in one signHash
    assert refused == {one: "signing_out_of_order"}
    for doc_id in many:
        assert _version(school, doc_id) == 2
        report = signing.validate_pdf(
            b"".join(open_content(school, doc_id).chunks), setup_of(school).trust_roots
        )
        assert [sig.signer for sig in report.signatures if sig.kind == "signature"] == [
            "Đỗ Thị Chủ Nhiệm (TEST)"
        ]


def test_expired_confirmation_and_refusal_sign_nothing_and_close_the_sessions(
    school: Archive, sim: CscSimulator, tmp_path: Path
):
    account = _link(school, sim)
    docs = [upload(school, tmp_path, f"Sổ {n}") for n in range(2)]
    sim.token_ttl = 0
    items = _sign(school, sim, account, docs)
    assert {i.error.code for i in items if i.error} == {"remote_expired"} and len(items) == 2
    assert "hết hạn" in items[0].error.message_vi
    sim.token_ttl = 300
    refused = _sign(school, sim, account, docs, action="refuse")
    assert [i.error.code for i in refused if i.error] == ["remote_denied", "remote_denied"]
    assert sim.signed == 0 and [_version(school, d) for d in docs] == [1, 1]
    with school.sessions() as s:
        assert {r.status for r in s.scalars(select(SigningSession))} == {"failed"}
        events = s.scalars(select(Event).where(Event.action == "remote_signing.refused")).all()
        assert [e.detail["error"] for e in events] == ["remote_expired", "remote_denied"]
    # the records still wait for the teacher: a new confirmation signs them
    assert all(i.version is not None for i in _sign(school, sim, account, docs))


def test_a_reload_of_the_callback_signs_nothing_twice(school: Archive, sim: CscSimulator, tmp_path: Path):
    account = _link(school, sim)
    doc_id = upload(school, tmp_path, "Sổ tải lại")
    user = user_of(school, "gv.cn")
    batch = remote_signing.start_signing(school, user, account.id, [doc_id])
    back = sim.answer(batch.authorize_url or "")
    payload = remote_signing.open_state(school.settings, user, back["state"])
    first = remote_signing.finish_signing(school, user, payload, code=back["code"], error=None)
    second = remote_signing.finish_signing(school, user, payload, code=back["code"], error=None)
    assert (
        [i.version.number for i in first if i.version]
        == [i.version.number for i in second if i.version]
        == [2]
    )
    assert sim.signed == 1


def test_the_state_is_the_persons_own_sealed_and_short_lived(
    school: Archive, sim: CscSimulator, monkeypatch: pytest.MonkeyPatch
):
    teacher, other = user_of(school, "gv.cn"), user_of(school, "gv.khac")
    state = remote_signing.seal_state(school.settings, teacher, {"p": "link", "pv": PROVIDER})
    with pytest.raises(ArchiveError) as theirs:
        remote_signing.open_state(school.settings, other, state)
    assert theirs.value.code == "remote_state_invalid"
    forged = json.dumps({"p": "link", "pv": PROVIDER, "uid": teacher.id, "exp": 2**40})
    with pytest.raises(ArchiveError) as plain:
        remote_signing.open_state(school.settings, teacher, forged)
    assert plain.value.code == "remote_state_invalid"
    monkeypatch.setattr(remote_signing, "STATE_TTL_SECONDS", -1)
    stale = remote_signing.seal_state(school.settings, teacher, {"p": "link", "pv": PROVIDER})
    with pytest.raises(ArchiveError) as late:
        remote_signing.open_state(school.settings, teacher, stale)
    assert late.value.code == "remote_state_expired"


def test_chain_homeroom_signs_remotely_principal_with_a_usb_token_then_the_seal(
    school: Archive,
    sim: CscSimulator,
    tmp_path: Path,
    pki_dir: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
):
    require_softhsm()
    # the token is used by `hoso sign-digest` in its own process, as on the principal's computer: SoftHSM reads its
    # configuration once per process, and this process's tests use another token
    token_env = dict(os.environ, **make_token(tmp_path / "hsm", pki_dir[0]), HOSO_TOKEN_PIN=PIN)
    with school.sessions() as s, s.begin():  # the principal registered the certificate on his USB token
        from asn1crypto import pem

        from archive import certificates

        der = pem.unarmor((pki_dir[0] / "principal.cert.pem").read_bytes())[2]
        ht = s.scalar(select(User).where(User.username == "ht"))
    with school.sessions() as s:
        certificates.register_certificate(s, setup_of(school), actor=None, owner=s.merge(ht), data=der)
    account = _link(school, sim)
    doc_id = upload(school, tmp_path, "Sổ theo dõi đánh giá 10A1")
    [teacher] = _sign(school, sim, account, [doc_id])
    assert teacher.version is not None
    with school.sessions() as s:
        assert [w["username"] for w in chains.state_of(s, get_document(s, doc_id)).waiting] == ["ht"]
    principal = user_of(school, "ht")
    started = start_signing_session(school, doc_id, certificate=der, actor=principal)
    request_file, answer = tmp_path / "principal.request.json", tmp_path / "principal.signature.json"
    request_file.write_text(json.dumps(started.request))
    run_cli(
        "sign-digest", str(request_file), "--out", str(answer), "--pkcs11-module", SOFTHSM_MODULE,
        "--token-label", TOKEN_LABEL, "--key-label", "principal", env=token_env,
    )  # fmt: skip
    finish_signing_session(school, started.id, json.loads(answer.read_text()), actor=principal)
    sign_document(school, doc_id, actor=user_of(school, "vt"), reason="Đóng dấu")
    with school.sessions() as s:
        assert chains.state_of(s, get_document(s, doc_id)).status == "complete"
    final = b"".join(open_content(school, doc_id).chunks)
    report = signing.validate_pdf(final, setup_of(school).trust_roots)
    assert report.verdict == "TOTAL_PASSED", report.to_dict()
    signers = [sig.signer for sig in report.signatures if sig.signer]
    assert any(n.startswith("Đỗ Thị Chủ Nhiệm") for n in signers)
    assert any(n.startswith("Nguyễn Văn Mẫu") for n in signers)


def test_an_unreachable_provider_signs_nothing_and_says_so(
    school: Archive, sim: CscSimulator, tmp_path: Path
):
    account = _link(school, sim)
    doc_id = upload(school, tmp_path, "Sổ — nhà cung cấp mất kết nối")
    user = user_of(school, "gv.cn")
    batch = remote_signing.start_signing(school, user, account.id, [doc_id])
    back = sim.answer(batch.authorize_url or "")
    sim.stop()  # the provider goes away between the confirmation and the signing
    payload = remote_signing.open_state(school.settings, user, back["state"])
    [item] = remote_signing.finish_signing(school, user, payload, code=back["code"], error=None)
    assert item.error is not None and item.error.code == "remote_unavailable" and item.error.status == 503
    assert "Không kết nối được" in item.error.message_vi
    assert _version(school, doc_id) == 1
