"""Pure logic of the signing package: levels, reports, errors, time format, certificate loading, CLI errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

import signing
from signing.appearance import format_signing_time
from signing.deferred import DeferredState
from signing.levels import SignatureLevel, default_level
from signing.report import FAILED, INDETERMINATE, PASSED, SignatureReport, ValidationReport, overall
from tests.factories import pdf_bytes


def sig(verdict, sub=None, name="S1") -> SignatureReport:
    return SignatureReport(
        field_name=name, kind="signature", verdict=verdict, sub_indication=sub, signer="A", organisation=None,
        issuer=None, certificate=None, signing_time=None, timestamp_time=None, intact=True, valid=True,
        trusted=True, revocation="good", coverage="entire_file", modification="none", level="B-B",
    )  # fmt: skip


def test_level_parsing_accepts_common_spellings():
    assert SignatureLevel.parse("b-lta") is SignatureLevel.B_LTA
    assert SignatureLevel.parse("LT") is SignatureLevel.B_LT
    assert SignatureLevel.parse("B_T") is SignatureLevel.B_T
    with pytest.raises(ValueError, match="unknown PAdES level"):
        SignatureLevel.parse("B-X")
    assert default_level("http://tsa") is SignatureLevel.B_LTA and default_level(None) is SignatureLevel.B_B


def test_overall_verdict_failed_beats_indeterminate_beats_passed():
    assert overall(()) == (INDETERMINATE, "NO_SIGNATURE")
    assert overall((sig(PASSED), sig(PASSED))) == (PASSED, None)
    assert overall((sig(PASSED), sig(INDETERMINATE, "TRY_LATER"), sig(FAILED, "HASH_FAILURE"))) == (
        FAILED,
        "HASH_FAILURE",
    )
    assert overall((sig(INDETERMINATE, "NO_POE"), sig(PASSED))) == (INDETERMINATE, "NO_POE")


def test_report_json_has_the_agreed_keys_and_vietnamese_wording():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    report = ValidationReport(FAILED, "HASH_FAILURE", (sig(FAILED, "HASH_FAILURE"),), now)
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["verdict"] == "TOTAL_FAILED" and data["verdict_vi"] == "Không hợp lệ"
    assert "thay đổi" in data["reason_vi"]
    for key in ("verdict", "sub_indication", "signer", "intact", "trusted", "modification"):
        assert key in data["signatures"][0]
    assert ValidationReport(PASSED, None, (), now).verdict_vi == "Hợp lệ"
    with pytest.raises(AttributeError):
        report.verdict = PASSED  # type: ignore[misc]  # frozen


def test_every_error_is_a_signing_error_with_a_code():
    classes = [getattr(signing, n) for n in signing.__all__ if isinstance(getattr(signing, n), type)]
    errors = [c for c in classes if issubclass(c, Exception)]
    assert len(errors) >= 10
    assert all(issubclass(c, signing.SigningError) for c in errors)
    assert len({c.code for c in errors}) == len(errors)
    assert issubclass(signing.SignatureMismatch, signing.DeferredSigningError)


def test_signing_time_is_iso8601_in_vietnam_time():
    moment = datetime(2026, 11, 28, 2, 15, 0, 123456, tzinfo=UTC)
    assert format_signing_time(moment) == "2026-11-28T09:15:00+07:00"
    assert (
        format_signing_time(moment.astimezone(timezone(timedelta(hours=-5)))) == "2026-11-28T09:15:00+07:00"
    )


def test_validate_garbage_and_unsigned_inputs_without_any_pki():
    report = signing.validate_pdf(b"hello")
    assert (report.verdict, report.sub_indication) == ("INDETERMINATE", "UNREADABLE")
    unsigned = pdf_bytes()
    report = signing.validate_pdf(unsigned)
    assert (report.verdict, report.sub_indication, report.signatures) == ("INDETERMINATE", "NO_SIGNATURE", ())
    assert signing.signature_level_of(unsigned) is None


def test_deferred_state_rejects_damaged_json():
    with pytest.raises(signing.InvalidDeferredState):
        DeferredState.from_json("[1, 2]")
    with pytest.raises(signing.InvalidDeferredState, match="version"):
        DeferredState.from_dict({"version": 99})
    with pytest.raises(signing.InvalidDeferredState):
        DeferredState.from_dict({"version": 1, "prepared_pdf": "!!"})


def test_validate_cli_exit_codes_for_unreadable_input(tmp_path):
    from signing.commands import cli

    runner = CliRunner()
    missing = runner.invoke(cli, ["validate", str(tmp_path / "nope.pdf")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    result = runner.invoke(cli, ["validate", str(junk), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["sub_indication"] == "UNREADABLE"
    bad_time = runner.invoke(cli, ["validate", str(junk), "--at", "yesterday"])
    assert bad_time.exit_code == 2 and "ISO 8601" in bad_time.output


def test_is_test_certificate_distinguishes_names(tmp_path):
    from asn1crypto import x509 as ax509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def cert(cn: str) -> ax509.Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.now(UTC)
        built = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        return ax509.Certificate.load(built.public_bytes(serialization.Encoding.DER))

    real = cert("Trường THPT Lê Lợi")
    fake = cert("hoso TEST Root CA — KHÔNG DÙNG THẬT")
    assert not signing.is_test_certificate(real)
    assert signing.is_test_certificate(fake)
    signing.refuse_test_pki([real])
    with pytest.raises(signing.TestPkiRefused, match="test certificate"):
        signing.refuse_test_pki([real, fake])
    pem = tmp_path / "fake.pem"
    from asn1crypto import pem as apem

    pem.write_bytes(apem.armor("CERTIFICATE", fake.dump()))
    with pytest.raises(signing.TestPkiRefused):
        signing.refuse_test_pki(pem)


def test_unreadable_pdf_is_invalid_document_for_signature_level_of():
    with pytest.raises(signing.InvalidDocument, match="no %PDF- header"):
        signing.signature_level_of(b"hello")
    with pytest.raises(signing.InvalidDocument, match="cannot parse PDF"):
        signing.signature_level_of(b"%PDF-1.7\n1 0 obj")


def test_validate_cli_refuses_a_time_without_offset(tmp_path):
    from signing.commands import cli

    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    naive = CliRunner().invoke(cli, ["validate", str(junk), "--at", "2026-01-01T08:00:00"])
    assert naive.exit_code == 2 and "múi giờ" in naive.output and "Traceback" not in naive.output
    aware = CliRunner().invoke(cli, ["validate", str(junk), "--json", "--at", "2026-01-01T08:00:00+07:00"])
    assert aware.exit_code == 2 and json.loads(aware.output)["sub_indication"] == "UNREADABLE"
