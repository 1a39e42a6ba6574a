"""Validation reports of stored documents come from archive/validation_cache.py when the same bytes were validated
against the same trust roots in the same hour, and are validated afresh when either changed (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

import signing
from archive.context import Archive
from archive.db import utcnow
from archive.documents import open_content
from archive.errors import NotFound
from archive.ingest import add_version_from_bytes, ingest_file
from archive.models import Event
from archive.signatures import setup_of, sign_document, signing_of, validate_document
from archive.signing_setup import ArchiveSigning
from archive.validation_cache import BUCKET, ValidationReport, bucket_of, lookup, trust_version
from tests.factories import dev_pki_archive, make_pdf
from tests.processes import free_port


@pytest.fixture
def sealed(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, str]]:
    yield from _sealed(tmp_path, tmp_path_factory)


@pytest.fixture
def sealed_on(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, db_url: str
) -> Iterator[tuple[Archive, str]]:
    """`sealed` on SQLite and on PostgreSQL."""
    yield from _sealed(tmp_path, tmp_path_factory, database_url=db_url)


def _sealed(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, **overrides: object
) -> Iterator[tuple[Archive, str]]:
    pki = (tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}")
    with dev_pki_archive(tmp_path, pki, **overrides) as a:
        path = make_pdf(tmp_path / "Học bạ 9A1.pdf", pages=2)
        doc = ingest_file(
            a, path, filename=path.name, school="T01", type_code="hoc-ba", year="2024-2025"
        ).document
        sign_document(a, doc.id, reason="Đóng dấu", appearance=signing.Appearance.invisible())
        yield a, doc.id


def test_a_report_is_validated_once_per_bytes_trust_and_hour(
    sealed: tuple[Archive, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    a, doc_id = sealed
    validations: list[bytes] = []
    real = ArchiveSigning.validate

    def counted(self: ArchiveSigning, data: bytes, at: Any = None) -> dict[str, Any]:
        validations.append(data)
        return real(self, data, at=at)

    monkeypatch.setattr(ArchiveSigning, "validate", counted)
    first = validate_document(a, doc_id)
    again = validate_document(a, doc_id)
    assert first["verdict"] == again["verdict"] == "TOTAL_PASSED"
    assert first == again and len(validations) == 1  # the second came from the cache
    assert validate_document(a, doc_id, version=1)["sha256"] != first["sha256"]
    assert len(validations) == 2  # another version: other bytes

    # a report as of another moment is that moment's: validated each time, never kept for the hour
    seal = first["signatures"][0]
    made = datetime.fromisoformat(seal["signing_time"] or seal["timestamp_time"])
    before = validate_document(a, doc_id, at=made - timedelta(seconds=1))
    assert before["verdict"] == "INDETERMINATE" and before["sub_indication"] == "NO_POE"  # not signed yet
    assert validate_document(a, doc_id, at=made + timedelta(minutes=1))["verdict"] == "TOTAL_PASSED"
    assert len(validations) == 4
    assert validate_document(a, doc_id) == first and len(validations) == 4  # now's report is still the hour's

    # a trust root more: every earlier report is stale, and dropped as the new one is kept
    dev = setup_of(a).dev_pki
    assert dev is not None
    extra = tmp_path / "extra-root.pem"
    extra.write_bytes((dev.directory / "teacher.cert.pem").read_bytes())
    setup_of(a).trust_roots.append(extra)
    assert validate_document(a, doc_id)["verdict"] == "TOTAL_PASSED"
    assert len(validations) == 5
    with a.sessions() as s:
        versions = s.scalars(
            select(ValidationReport.trust_version).where(ValidationReport.sha256 == first["sha256"])
        )
        assert len(set(versions)) == 1
        # each request is in the audit trail, from the cache or not
        events = s.scalar(
            select(func.count()).where(Event.action == "document.validate", Event.document_id == doc_id)
        )
    assert events == 7


def test_a_cached_report_still_refuses_what_validation_refuses(sealed: tuple[Archive, str]):
    a, doc_id = sealed
    validate_document(a, doc_id)
    with pytest.raises(NotFound) as e:
        validate_document(a, doc_id, version=9)
    assert e.value.code == "version_not_found"
    with pytest.raises(NotFound) as e:
        validate_document(a, "no-such-document")
    assert e.value.code == "document_not_found"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes of every validation actually run (a cached report adds nothing)."""
    seen: list[bytes] = []
    real = ArchiveSigning.validate

    def counted(self: ArchiveSigning, data: bytes, at: Any = None) -> dict[str, Any]:
        seen.append(data)
        return real(self, data, at=at)

    monkeypatch.setattr(ArchiveSigning, "validate", counted)
    return seen


def test_a_cached_report_costs_one_statement_and_reads_no_copy(
    sealed_on: tuple[Archive, str], monkeypatch: pytest.MonkeyPatch, validations: list[bytes]
):
    a, doc_id = sealed_on
    first = validate_document(a, doc_id)
    statements: list[str] = []
    event.listen(a.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    reads: list[str] = []
    real_open = a.replicas.open_verified

    def counted_open(key: str, *args: Any, **kw: Any) -> Any:
        reads.append(key)
        return real_open(key, *args, **kw)

    monkeypatch.setattr(a.replicas, "open_verified", counted_open)

    with a.sessions() as s:
        found = lookup(s, doc_id, None, trust_version(setup_of(a).trust_roots), bucket_of(None))
    assert len(statements) == 1 and found.report is not None
    assert found.report["verdict"] == "TOTAL_PASSED" and found.sha256 == first["sha256"]

    statements.clear()
    assert validate_document(a, doc_id) == first
    catalog = [
        q for q in statements if "validation_reports" in q or "FROM documents" in q or "FROM versions" in q
    ]
    assert len(catalog) == 1  # the rest is the audit event's
    assert reads == [] and len(validations) == 1

    # a fresh report reads one verified copy, and the catalog once before it
    statements.clear()
    validate_document(a, doc_id, at=utcnow() - 3 * BUCKET)
    assert len(reads) == 1 and len(validations) == 2
    assert len([q for q in statements if "FROM documents" in q or "FROM versions" in q]) == 1


def test_changed_trust_roots_are_seen_at_once(
    sealed: tuple[Archive, str], tmp_path: Path, validations: list[bytes]
):
    """The trust version is remembered per stat of the roots' files and folders: a certificate added to or removed
    from a trusted folder, or a trusted file rewritten in place, makes the next request validate afresh."""
    a, doc_id = sealed
    dev = setup_of(a).dev_pki
    assert dev is not None
    folder = tmp_path / "more-roots"
    folder.mkdir()
    setup_of(a).trust_roots.append(folder)
    before = trust_version(setup_of(a).trust_roots)
    validate_document(a, doc_id)
    validate_document(a, doc_id)
    assert len(validations) == 1

    (folder / "teacher.pem").write_bytes((dev.directory / "teacher.cert.pem").read_bytes())
    added = trust_version(setup_of(a).trust_roots)
    assert added != before
    validate_document(a, doc_id)
    assert len(validations) == 2

    # the same file name, other content (a root replaced in place)
    (folder / "teacher.pem").write_bytes((dev.directory / "seal.cert.pem").read_bytes())
    assert trust_version(setup_of(a).trust_roots) not in (before, added)
    validate_document(a, doc_id)
    assert len(validations) == 3

    (folder / "teacher.pem").unlink()
    assert trust_version(setup_of(a).trust_roots) == before
    validate_document(a, doc_id)  # the report of `before` was dropped when a newer trust version was kept
    assert len(validations) == 4


def test_new_revocation_data_is_a_new_report(sealed: tuple[Archive, str], validations: list[bytes]):
    """Validation is offline: the revocation data a verdict rests on is inside the file (DSS, timestamps). New
    revocation data (a renewed B-LTA: fresh CRL/OCSP and a document timestamp) is a new version with new bytes, so it
    is validated afresh while the older version's report stays cached."""
    a, doc_id = sealed
    old = validate_document(a, doc_id)
    assert len(validations) == 1
    content = open_content(a, doc_id, actor=None, record_download=False)
    data = b"".join(content.chunks)
    renewed = signing_of(a).lta_renew(data)
    assert renewed.startswith(data) and len(renewed) > len(data)
    version = add_version_from_bytes(
        a, doc_id, renewed, base_version=2, reason="Gia hạn", actor=None, event="signature.renew", signed=True,
        appends=True,
    )  # fmt: skip
    new = validate_document(a, doc_id)
    assert len(validations) == 2 and validations[-1] == renewed
    assert new["sha256"] != old["sha256"] and new["verdict"] == "TOTAL_PASSED"
    assert len(new["signatures"]) == len(old["signatures"]) + 1  # the renewal's document timestamp
    assert validate_document(a, doc_id, version=version.number - 1) == old
    assert len(validations) == 2
