"""Teacher (deferred, key on SoftHSM via sign_digest), principal (PKCS#11), school seal (PKCS#12), ending B-LTA."""

from __future__ import annotations

import json

from click.testing import CliRunner

from signing import (
    Appearance,
    Pkcs11Signer,
    Pkcs12Signer,
    finish_deferred,
    prepare_deferred,
    sign_digest,
    sign_pdf,
    signature_level_of,
    validate_pdf,
)
from signing.commands import cli

from .testkit import P12_PASSWORD


def test_three_signers_in_order_all_pass_offline(pki, softhsm, pdf50, tmp_path):
    teacher_token = Pkcs11Signer(softhsm.module, softhsm.token_label, "teacher", pin=softhsm.pin)
    request = prepare_deferred(
        pdf50,
        pki.certs["teacher"].read_bytes(),
        chain=[pki.interm],
        level="B-LTA",
        tsa_url=pki.tsa_url,
        appearance=Appearance.person(
            title="GIÁO VIÊN", full_name="Trần Văn Đức", page=-1, box=(60, 60, 260, 200)
        ),
    )
    # the state travels through JSON, as the archive stores it
    stored_state = request.state.to_json()
    response = sign_digest(request.to_request_dict(), teacher_token)
    after_teacher = finish_deferred(stored_state, response.to_json(), trust_roots=[pki.root])

    principal = Pkcs11Signer(softhsm.module, softhsm.token_label, "principal", pin=softhsm.pin)
    after_principal = sign_pdf(
        after_teacher,
        principal,
        level="B-LTA",
        tsa_url=pki.tsa_url,
        trust_roots=[pki.root],
        reason="Phê duyệt",
    )
    seal = Pkcs12Signer(str(pki.p12["seal"]), P12_PASSWORD)
    final = sign_pdf(
        after_principal, seal, level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root], certify=True
    )
    assert final.startswith(after_principal) and after_principal.startswith(after_teacher)
    assert signature_level_of(final) == "B-LTA"

    report = validate_pdf(final, [pki.root], allow_fetching=False)
    assert report.verdict == "TOTAL_PASSED", json.dumps(report.to_dict(), ensure_ascii=False, default=str)
    signers = [s.signer for s in report.signatures if s.kind == "signature"]
    assert signers == ["Trần Văn Đức", "Nguyễn Thị Hồng Nhung", "Trường THPT Thử Nghiệm"]
    for sig in report.signatures:
        assert sig.passed and sig.intact and sig.trusted
        if sig.kind == "signature":
            assert sig.level == "B-LTA" and sig.revocation == "good"
    assert report.signatures[-2].certification == "no_changes"  # the seal locks the document
    data = report.to_dict()
    assert data["verdict_vi"] == "Hợp lệ"
    for key in ("verdict", "sub_indication", "signer", "intact", "trusted", "modification"):
        assert all(key in s for s in data["signatures"])

    # the locking seal still allows long-term upkeep, but not a new signature's content changes
    (tmp_path / "final.pdf").write_bytes(final)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "final.pdf"), "--trust-root", str(pki.root)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Kết quả: Hợp lệ")


def test_teacher_signs_digest_through_the_cli(pki, softhsm, small_pdf, tmp_path, monkeypatch):
    request = prepare_deferred(small_pdf, pki.certs["teacher"].read_bytes(), chain=[pki.interm], level="B-B")
    request_file = tmp_path / "request.json"
    request_file.write_text(request.to_request_json())
    out = tmp_path / "signature.json"
    monkeypatch.setenv("HOSO_TOKEN_PIN", softhsm.pin)
    args = ["sign-digest", str(request_file), "--out", str(out), "--pkcs11-module", softhsm.module]
    args += ["--token-label", softhsm.token_label, "--key-label", "teacher"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    signed = finish_deferred(request.state, out.read_text())
    report = validate_pdf(signed, [pki.root])
    assert report.passed and report.signatures[0].signer == "Trần Văn Đức"


def test_sign_digest_cli_refuses_a_key_of_someone_else(pki, small_pdf, tmp_path, monkeypatch):
    request = prepare_deferred(small_pdf, pki.certs["teacher"].read_bytes(), level="B-B")
    request_file = tmp_path / "request.json"
    request_file.write_text(request.to_request_json())
    monkeypatch.setenv("HOSO_P12_PASSWORD", P12_PASSWORD.decode())
    result = CliRunner().invoke(cli, ["sign-digest", str(request_file), "--p12", str(pki.p12["principal"])])
    assert result.exit_code == 1
    assert "not the one the request was prepared for" in result.output
    assert "Traceback" not in result.output
