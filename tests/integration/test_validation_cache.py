"""Validation reports of stored documents come from archive/validation_cache.py when the same bytes were validated
against the same trust roots in the same hour, and are validated afresh when either changed (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import signing
from archive.context import Archive
from archive.db import utcnow
from archive.errors import NotFound
from archive.ingest import ingest_file
from archive.models import Event
from archive.signatures import setup_of, sign_document, validate_document
from archive.signing_setup import ArchiveSigning
from archive.validation_cache import BUCKET, ValidationReport
from tests.factories import dev_pki_archive, make_pdf
from tests.processes import free_port


@pytest.fixture
def sealed(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, str]]:
    pki = (tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}")
    with dev_pki_archive(tmp_path, pki) as a:
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

    # another hour of validation time is validated again
    validate_document(a, doc_id, at=utcnow() - 2 * BUCKET)
    assert len(validations) == 3

    # a trust root more: every earlier report is stale, and dropped as the new one is kept
    dev = setup_of(a).dev_pki
    assert dev is not None
    extra = tmp_path / "extra-root.pem"
    extra.write_bytes((dev.directory / "teacher.cert.pem").read_bytes())
    setup_of(a).trust_roots.append(extra)
    assert validate_document(a, doc_id)["verdict"] == "TOTAL_PASSED"
    assert len(validations) == 4
    with a.sessions() as s:
        versions = s.scalars(
            select(ValidationReport.trust_version).where(ValidationReport.sha256 == first["sha256"])
        )
        assert len(set(versions)) == 1
        # each request is in the audit trail, from the cache or not
        events = s.scalar(
            select(func.count()).where(Event.action == "document.validate", Event.document_id == doc_id)
        )
    assert events == 5


def test_a_cached_report_still_refuses_what_validation_refuses(sealed: tuple[Archive, str]):
    a, doc_id = sealed
    validate_document(a, doc_id)
    with pytest.raises(NotFound) as e:
        validate_document(a, doc_id, version=9)
    assert e.value.code == "version_not_found"
