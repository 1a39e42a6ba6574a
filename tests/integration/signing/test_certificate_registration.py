"""Registering a person's signing certificate (issue 10, item 1) against the shared test PKI served over HTTP: a good
certificate with its chain passes with its revocation confirmed by OCSP; expired, revoked, untrusted, not-for-signing
and unreadable ones are refused with their own code, recorded in the audit trail, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from sqlalchemy import select

from archive import certificates
from archive.chain_models import SigningCertificate
from archive.context import Archive
from archive.errors import ArchiveError
from archive.models import Event, User
from archive.signing_setup import SigningSetup
from tests.factories import add_person, make_archive

from .testkit import TestPki


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, database_url=db_url)
    with a.sessions() as s, s.begin():
        add_person(s, "nhung", ("hieu_truong", "T01"), home="T01", full_name="Nguyễn Thị Hồng Nhung")
        add_person(s, "duc", ("gvbm", "T01"), home="T01", full_name="Trần Văn Đức")
    yield a
    a.close()


def _setup(pki: TestPki) -> SigningSetup:
    return SigningSetup(tsa_url=None, trust_roots=[pki.root], org_signer=None, default_level="B-B")


def _pem(*ders: bytes) -> bytes:
    return b"".join(pem.armor("CERTIFICATE", der) for der in ders)


def _with_chain(pki: TestPki, label: str) -> bytes:
    """The person's certificate followed by the intermediate CA, as a token's export tool writes it."""
    return _pem(pki.certs[label].read_bytes(), pki.interm.read_bytes())


def _register(a: Archive, pki: TestPki, username: str, data: bytes | str) -> SigningCertificate:
    with a.sessions() as s:
        owner = s.scalar(select(User).where(User.username == username))
        assert owner is not None
        return certificates.register_certificate(s, _setup(pki), actor=owner, owner=owner, data=data)


def _refused(a: Archive, pki: TestPki, username: str, data: bytes | str) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        _register(a, pki, username, data)
    return caught.value


def _events(a: Archive, action: str) -> list[Event]:
    with a.sessions() as s:
        return list(s.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def _stored(a: Archive) -> int:
    with a.sessions() as s:
        return len(s.scalars(select(SigningCertificate)).all())


def test_good_certificate_is_registered_with_revocation_checked(world: Archive, pki: TestPki):
    row = _register(world, pki, "nhung", _with_chain(pki, "principal"))
    assert "Nguyễn Thị Hồng Nhung" in row.subject
    assert "Test Intermediate CA" in row.issuer
    assert row.not_after.year == 2045
    assert row.check.startswith("ok; revocation good")  # the OCSP responder answered
    with world.sessions() as s:
        owner = s.scalar(select(User).where(User.username == "nhung"))
        assert owner is not None
        der = pki.certs["principal"].read_bytes()
        assert certificates.registered_certificate(s, owner.id, der) is not None
        assert [c.serial for c in certificates.certificates_of(s, owner)] == [row.serial]
    (added,) = _events(world, "certificate.added")
    assert added.detail["username"] == "nhung" and added.detail["revocation"] == "good"


def test_one_certificate_one_person(world: Archive, pki: TestPki):
    _register(world, pki, "nhung", _with_chain(pki, "principal"))
    err = _refused(world, pki, "duc", _with_chain(pki, "principal"))
    assert (err.status, err.code) == (409, "certificate_taken")
    assert "tài khoản khác" in err.message_vi
    (refused,) = _events(world, "certificate.refused")
    assert refused.outcome == "refused" and refused.detail["error"] == "certificate_taken"
    assert refused.detail["username"] == "duc"
    assert _stored(world) == 1


def test_removed_certificate_no_longer_counts_and_may_be_registered_again(world: Archive, pki: TestPki):
    row = _register(world, pki, "nhung", _with_chain(pki, "principal"))
    der = pki.certs["principal"].read_bytes()
    with world.sessions() as s, s.begin():
        owner = s.scalar(select(User).where(User.username == "nhung"))
        assert owner is not None
        certificates.remove_certificate(s, actor=owner, owner=owner, certificate_id=row.id)
    with world.sessions() as s:
        owner = s.scalar(select(User).where(User.username == "nhung"))
        assert owner is not None
        assert certificates.registered_certificate(s, owner.id, der) is None
        assert certificates.certificates_of(s, owner) == []
    # the holder may bring it back; another person still may not take it
    assert _refused(world, pki, "duc", _with_chain(pki, "principal")).code == "certificate_taken"
    again = _register(world, pki, "nhung", _with_chain(pki, "principal"))
    assert again.id == row.id and again.removed_at is None
    assert [e.detail["id"] for e in _events(world, "certificate.removed")] == [row.id]


@pytest.mark.parametrize(
    ("label", "code", "words"),
    [
        ("expired", "certificate_expired", "hết hạn ngày 01/01/2021"),
        ("revoked", "certificate_revoked", "thu hồi"),
        ("stranger", "certificate_untrusted", "tin cậy"),
    ],
)
def test_unfit_certificates_are_refused_and_recorded(
    tmp_path: Path, pki: TestPki, label: str, code: str, words: str
):
    a = make_archive(tmp_path)
    with a.sessions() as s, s.begin():
        add_person(s, "nhung", ("hieu_truong", "T01"), home="T01")
    data = _with_chain(pki, label) if label != "stranger" else _pem(pki.certs[label].read_bytes())
    err = _refused(a, pki, "nhung", data)
    assert (err.status, err.code) == (422, code)
    assert words in err.message_vi
    (refused,) = _events(a, "certificate.refused")
    assert refused.detail["error"] == code and refused.actor == "nhung"
    assert _stored(a) == 0
    a.close()


def test_a_chain_that_cannot_be_built_is_untrusted(tmp_path: Path, pki: TestPki):
    # DER alone: the intermediate CA is neither handed in nor known to the archive
    a = make_archive(tmp_path)
    with a.sessions() as s, s.begin():
        add_person(s, "nhung", ("hieu_truong", "T01"), home="T01")
    assert _refused(a, pki, "nhung", pki.certs["principal"].read_bytes()).code == "certificate_untrusted"
    a.close()


def _issued_by_interm(pki: TestPki, usage: dict[str, bool], ocsp_url: str | None = None) -> bytes:
    """A certificate the test PKI's intermediate issues here, with the key usage and OCSP address given."""
    interm = cx509.load_der_x509_certificate(pki.interm.read_bytes())
    interm_key = serialization.load_pem_private_key(
        (pki.directory / "keys" / "interm.key.pem").read_bytes(), password=None
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    flags = (
        dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        | usage
    )
    builder = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Võ Thị Khóa")]))
        .issuer_name(interm.subject)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(cx509.KeyUsage(**flags), critical=True)
    )
    if ocsp_url:
        builder = builder.add_extension(
            cx509.AuthorityInformationAccess(
                [
                    cx509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, cx509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    cert = builder.sign(interm_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_certificate_not_for_signing_is_refused(tmp_path: Path, pki: TestPki):
    a = make_archive(tmp_path)
    with a.sessions() as s, s.begin():
        add_person(s, "nhung", ("hieu_truong", "T01"), home="T01")
    der = _issued_by_interm(pki, {"key_encipherment": True})
    err = _refused(a, pki, "nhung", _pem(der, pki.interm.read_bytes()))
    assert (err.status, err.code) == (422, "certificate_key_usage")
    assert "digitalSignature" in err.message_vi
    a.close()


def test_unreachable_revocation_data_does_not_block_but_is_recorded(tmp_path: Path, pki: TestPki):
    # an OCSP responder nobody answers at: soft-fail, and the registration says revocation was not confirmed
    a = make_archive(tmp_path)
    with a.sessions() as s, s.begin():
        add_person(s, "nhung", ("hieu_truong", "T01"), home="T01")
    der = _issued_by_interm(pki, {"digital_signature": True}, ocsp_url="http://127.0.0.1:9/ocsp")
    row = _register(a, pki, "nhung", _pem(der, pki.interm.read_bytes()))
    assert row.check.startswith("ok; revocation unreachable")
    a.close()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "MIIB" + "A" * 40,
    ],
)
def test_unreadable_input_is_bad_certificate(tmp_path: Path, pki: TestPki, data: bytes | str):
    a = make_archive(tmp_path)
    with a.sessions() as s, s.begin():
        add_person(s, "nhung", ("hieu_truong", "T01"), home="T01")
    err = _refused(a, pki, "nhung", data)
    assert (err.status, err.code) == (422, "bad_certificate")
    assert _events(a, "certificate.refused")[0].detail["error"] == "bad_certificate"
    a.close()


def test_base64_der_and_raw_der_read_the_same(pki: TestPki):
    import base64

    der = pki.certs["principal"].read_bytes()
    assert certificates.certificate_der(der) == der
    assert certificates.certificate_der(base64.b64encode(der).decode()) == der
    assert certificates.certificate_der(_with_chain(pki, "principal").decode()) == der
