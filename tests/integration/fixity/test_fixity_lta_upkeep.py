"""LTA upkeep end to end with the real signing package: a B-LTA document signed with the dev PKI is inspected,
left alone while its timestamp is far from expiry, and renewed (a new verified version, still valid) once it is due.

The dev PKI has one TSA, valid to 2054, so "due" is produced by changing what the catalog remembers about the old
timestamp (as if an older TSA had made it); everything else — signing, inspection, renewal, validation — is real."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import signing
from archive.context import Archive
from archive.db import utcnow
from archive.documents import get_document, open_content
from archive.ingest import ingest_file
from archive.models import Event
from archive.signatures import setup_of, sign_document
from archive.signing_setup import dev_pki_served
from retention.integrity_models import SignatureUpkeep
from retention.upkeep import renew_due_signatures
from tests.factories import make_archive, make_pdf


@pytest.fixture
def sarchive(tmp_path: Path) -> Iterator[Archive]:
    a = make_archive(tmp_path)
    with dev_pki_served(setup_of(a)):
        yield a
    a.close()


def test_a_due_lta_document_gets_a_fresh_timestamp_as_a_new_version(sarchive: Archive, tmp_path: Path):
    setup = setup_of(sarchive)
    path = make_pdf(tmp_path / "Học bạ 12A1.pdf", pages=2)
    doc = ingest_file(sarchive, path, filename=path.name, school="T01", type_code="hoc-ba", year="2024-2025")
    signed = sign_document(
        sarchive, doc.document.id, level="B-LTA", appearance=signing.Appearance.invisible()
    )

    def inspect(data: bytes):
        info = signing.newest_document_timestamp(data)
        return (info.certificate_not_after, info.digest_algorithm) if info else (None, None)

    def renew(data: bytes) -> bytes:
        return signing.add_document_timestamp(data, tsa_url=setup.tsa_url, trust_roots=setup.trust_roots)

    first = renew_due_signatures(sarchive, inspect=inspect, renew=renew)
    assert first.inspected == 1 and first.due == 0 and not first.renewed  # only the current, signed version
    with sarchive.sessions() as s:
        row = s.get(SignatureUpkeep, signed.id)
        assert row is not None and row.expires_at is not None and row.expires_at.year == 2054
        assert row.algorithm == "sha256"
    with sarchive.sessions() as s, s.begin():
        s.get(SignatureUpkeep, signed.id).expires_at = utcnow() + timedelta(
            days=30
        )  # an older TSA's timestamp

    second = renew_due_signatures(sarchive, inspect=inspect, renew=renew)
    assert len(second.renewed) == 1 and not second.failed, second
    renewal = second.renewed[0]
    assert renewal.old_version == signed.number and renewal.new_version == signed.number + 1
    old_bytes = b"".join(open_content(sarchive, doc.document.id, version=signed.number).chunks)
    new_bytes = b"".join(open_content(sarchive, doc.document.id).chunks)
    assert new_bytes.startswith(old_bytes) and len(new_bytes) > len(old_bytes)  # an incremental update only
    report = signing.validate_pdf(new_bytes, setup.trust_roots)
    assert report.verdict == "TOTAL_PASSED", report.to_dict()
    with sarchive.sessions() as s:
        d = get_document(s, doc.document.id)
        assert d.current.number == signed.number + 1 and d.current.signed
        assert s.get(SignatureUpkeep, signed.id).renewed_by_version_id == d.current.id
        assert s.get(SignatureUpkeep, d.current.id).expires_at.year == 2054
        ev = s.scalars(select(Event).where(Event.action == "signature.lta_renewal")).one()
        assert ev.outcome == "ok" and ev.detail["previous_version"] == signed.number

    third = renew_due_signatures(sarchive, inspect=inspect, renew=renew)
    assert third.due == 0 and not third.renewed  # renewed once, not every day


def test_a_renewal_that_would_not_extend_protection_is_refused_and_reported(
    sarchive: Archive, tmp_path: Path
):
    """If the TSA's own certificate ends inside the margin too, a new timestamp protects nothing longer: no useless
    version every day, but a failure (and an alert) so that someone gets a longer-lived TSA certificate."""
    setup = setup_of(sarchive)
    path = make_pdf(tmp_path / "Sổ đăng bộ.pdf")
    doc = ingest_file(sarchive, path, filename=path.name, school="T01", type_code="hoc-ba", year="2024-2025")
    signed = sign_document(
        sarchive, doc.document.id, level="B-LTA", appearance=signing.Appearance.invisible()
    )
    sarchive.settings.lta_renewal_margin_days = 365 * 40  # the dev TSA (valid to 2054) is inside this margin

    def inspect(data: bytes):
        info = signing.newest_document_timestamp(data)
        return (info.certificate_not_after, info.digest_algorithm) if info else (None, None)

    def renew(data: bytes) -> bytes:
        return signing.add_document_timestamp(data, tsa_url=setup.tsa_url, trust_roots=setup.trust_roots)

    report = renew_due_signatures(sarchive, inspect=inspect, renew=renew)
    assert report.due == 1 and not report.renewed and len(report.failed) == 1
    assert "would still need renewal" in (report.failed[0].error or "")
    with sarchive.sessions() as s:
        assert get_document(s, doc.document.id).current.number == signed.number  # nothing added
        ev = s.scalars(select(Event).where(Event.action == "signature.lta_renewal")).one()
        assert ev.outcome == "error"
