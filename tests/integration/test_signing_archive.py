"""Signing wired into the archive: every signature is a new immutable version with its validation report."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import signing
from archive.context import Archive
from archive.documents import get_document, open_content
from archive.errors import ArchiveError, Conflict, InvalidInput
from archive.ingest import ingest_file
from archive.manifests import manifest_key
from archive.models import Event
from archive.signatures import finish_signing_session, setup_of, sign_document, start_signing_session
from archive.signing_models import SigningSession
from tests.factories import dev_pki_archive, make_pdf
from tests.processes import free_port


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    # one dev PKI for the module (key generation is the slow part); the base URL's port is ours alone
    return tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def sarchive(tmp_path: Path, pki_dir: tuple[Path, str]) -> Iterator[Archive]:
    with dev_pki_archive(tmp_path, pki_dir) as a:
        yield a


def _ingest(a: Archive, path: Path):
    return ingest_file(a, path, filename=path.name, school="T01", type_code="hoc-ba", year="2024-2025")


def _bytes(a: Archive, doc_id: str, version: int | None = None) -> bytes:
    return b"".join(open_content(a, doc_id, version=version).chunks)


def test_teacher_then_principal_then_school_seal_all_pass_offline(sarchive: Archive, tmp_path: Path):
    dev = setup_of(sarchive).dev_pki
    assert dev is not None
    doc = _ingest(sarchive, make_pdf(tmp_path / "Học bạ 12A1.pdf", pages=3)).document
    for person in ("teacher", "principal"):
        cert = (dev.directory / f"{person}.cert.pem").read_bytes()
        started = start_signing_session(sarchive, doc.id, certificate=cert, chain=[], reason=f"{person} ký")
        # the signer's side: only the request travels; the key never reaches the server
        response = signing.sign_digest(
            started.request, signing.Pkcs12Signer(str(dev.signer_p12[person]), b"hoso-dev-test")
        )
        finish_signing_session(sarchive, started.id, json.loads(response.to_json()))
    final = sign_document(sarchive, doc.id, reason="Đóng dấu", appearance=signing.Appearance.invisible())
    assert final.number == 4 and final.signed
    report = signing.validate_pdf(_bytes(sarchive, doc.id), setup_of(sarchive).trust_roots)
    people = [s for s in report.to_dict()["signatures"] if s.get("kind", "signature") != "timestamp"]
    assert report.verdict == "TOTAL_PASSED", report.to_dict()
    signers = [s["signer"] for s in report.to_dict()["signatures"]]
    assert any("Trần Thị Thử" in (s or "") for s in signers) and any(
        "Nguyễn Văn Mẫu" in (s or "") for s in signers
    )
    assert len(people) >= 3
    with sarchive.sessions() as s:
        d = get_document(s, doc.id)
        assert [v.number for v in d.versions] == [1, 2, 3, 4]
        # each version's manifest chains to the previous one
        for prev, cur in zip(d.versions, d.versions[1:], strict=False):
            assert cur.previous_manifest_sha256 == prev.manifest_sha256
        raw = sarchive.replicas.stores[2].get(manifest_key(doc.id, 4)).read()
        assert json.loads(raw)["version"]["validation"]["verdict"] == "TOTAL_PASSED"
        signs = s.scalars(
            select(Event).where(Event.action == "document.sign", Event.document_id == doc.id)
        ).all()
        assert len(signs) == 3
        assert "Trần Thị Thử" in (signs[0].detail.get("signer") or "")


def test_deferred_signature_that_does_not_match_is_refused_and_nothing_stored(
    sarchive: Archive, tmp_path: Path
):
    dev = setup_of(sarchive).dev_pki
    assert dev is not None
    doc = _ingest(sarchive, make_pdf(tmp_path / "so-dang-bo.pdf")).document
    cert = (dev.directory / "teacher.cert.pem").read_bytes()
    started = start_signing_session(sarchive, doc.id, certificate=cert)
    wrong_key = signing.Pkcs12Signer(str(dev.signer_p12["principal"]), b"hoso-dev-test")
    forged = signing.sign_digest(
        json.loads(json.dumps(started.request)) | {"certificate_sha256": None}, wrong_key
    )
    with pytest.raises(InvalidInput) as ei:
        finish_signing_session(sarchive, started.id, json.loads(forged.to_json()))
    assert ei.value.code == "signature_mismatch"
    with sarchive.sessions() as s:
        assert [v.number for v in get_document(s, doc.id).versions] == [1]
        row = s.get(SigningSession, started.id)
        assert row is not None and row.status == "pending"
        assert s.scalars(select(Event).where(Event.action == "signing_session.rejected")).first() is not None


def test_session_prepared_on_an_old_version_cannot_overwrite_a_newer_one(sarchive: Archive, tmp_path: Path):
    dev = setup_of(sarchive).dev_pki
    assert dev is not None
    doc = _ingest(sarchive, make_pdf(tmp_path / "x.pdf")).document
    started = start_signing_session(
        sarchive, doc.id, certificate=(dev.directory / "teacher.cert.pem").read_bytes()
    )
    sign_document(sarchive, doc.id, level="B-B")
    response = signing.sign_digest(
        started.request, signing.Pkcs12Signer(str(dev.signer_p12["teacher"]), b"hoso-dev-test")
    )
    with pytest.raises(Conflict) as ei:
        finish_signing_session(sarchive, started.id, json.loads(response.to_json()))
    assert ei.value.code == "version_conflict"


def test_ingesting_a_signed_pdf_keeps_bytes_and_records_validation(sarchive: Archive, tmp_path: Path):
    setup = setup_of(sarchive)
    assert setup.org_signer is not None
    raw = make_pdf(tmp_path / "raw.pdf").read_bytes()
    signed = signing.sign_pdf(raw, setup.org_signer, level="B-T", tsa_url=setup.tsa_url)
    path = tmp_path / "Sổ đã ký.pdf"
    path.write_bytes(signed)
    r = _ingest(sarchive, path)
    assert r.version.sha256 == hashlib.sha256(signed).hexdigest()
    assert _bytes(sarchive, r.document.id) == signed
    assert r.version.signed and r.version.validation is not None
    assert r.version.validation["verdict"] == "TOTAL_PASSED"
    assert len(r.version.validation["signatures"]) == 1


def test_only_pdfs_are_signed(sarchive: Archive, tmp_path: Path):
    path = tmp_path / "hocba.xml"
    path.write_bytes(b"<?xml version='1.0'?><HocBa/>")
    doc = _ingest(sarchive, path).document
    with pytest.raises(ArchiveError) as ei:
        sign_document(sarchive, doc.id)
    assert ei.value.code == "not_signable"


def test_daily_anchor_works_on_the_embedded_defaults_with_the_dev_pki_tsa(sarchive: Archive, tmp_path: Path):
    from archive.audit import anchor_chain_head, verify
    from retention.scheduler import job_audit_anchor

    _ingest(sarchive, make_pdf(tmp_path / "a.pdf"))
    assert sarchive.settings.tsa_url is None  # nothing configured: the dev PKI's TSA is used
    anchor = job_audit_anchor(sarchive)
    assert anchor is not None and anchor.tsa_url.endswith("/tsa/tsa")
    for store in sarchive.replicas.stores:
        assert anchor.key in list(store.list("audit/anchors/"))
    assert job_audit_anchor(sarchive) is None  # once a day, whichever worker gets there first
    assert verify(sarchive).ok
    assert anchor_chain_head(sarchive) is not None


def test_a_signed_lesson_plan_keeps_its_content_check(sarchive: Archive, tmp_path: Path):
    from hoso.api.schemas import DocumentOut

    plan = make_pdf(tmp_path / "Bài 3 - Hàm số bậc hai.pdf", text="IV. Rút kinh nghiệm")
    r = ingest_file(
        sarchive, plan, filename=plan.name, school="T01", type_code="ke-hoach-bai-day", year="2024-2025"
    )
    signed = sign_document(sarchive, r.document.id, level="B-B")
    assert signed.number == 2
    with sarchive.sessions() as s:
        checks = DocumentOut.full(s, get_document(s, r.document.id)).model_dump()["checks"]
    assert [(c["name"], c["result"]) for c in checks] == [("rut_kinh_nghiem", "present")]


def test_cli_session_start_refuses_an_unwritable_out_before_opening_a_session(tmp_path: Path):
    from click.testing import CliRunner

    from hoso.cli.signing import signing_session

    cert = tmp_path / "signer.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    out = tmp_path / "missing" / "request.json"
    res = CliRunner().invoke(signing_session, ["start", "some-id", "--cert", str(cert), "--out", str(out)])
    assert res.exit_code == 2 and "--out" in res.stderr and "cannot write into" in res.stderr
    assert not out.exists()
