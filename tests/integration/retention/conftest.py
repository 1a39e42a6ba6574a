"""Fixtures for the retention tests: a migrated catalog (SQLite and PostgreSQL) over three replicas."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.context import Archive
from archive.ingest import IngestResult, ingest_file
from tests.factories import folder_replicas, make_archive, make_pdf


@pytest.fixture
def catalog(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, database_url=db_url)
    yield a
    a.close()


@pytest.fixture
def folder_catalog(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, database_url=db_url, replicas=folder_replicas(tmp_path / "stores"))
    yield a
    a.close()


def ingest_pdf(
    a: Archive,
    tmp_path: Path,
    *,
    type_code: str = "so-ghi-dau-bai",
    year: str = "2018-2019",
    school: str = "T01",
    title: str | None = None,
    data: Path | None = None,
) -> IngestResult:
    path = data or make_pdf(tmp_path / f"{uuid.uuid4().hex[:8]} Sổ ghi đầu bài.pdf", extra=uuid.uuid4().bytes)
    return ingest_file(
        a, path, filename=path.name, school=school, type_code=type_code, year=year, title=title
    )
