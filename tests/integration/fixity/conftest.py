"""Archives over three folder stores on tmp_path, with a few real PDFs ingested."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.context import Archive
from archive.ingest import ingest_file
from tests.factories import folder_replicas, make_archive, make_pdf


def folder_archive(tmp_path: Path, db_url: str | None = None, **overrides: object) -> Archive:
    values: dict[str, object] = {"replicas": folder_replicas(tmp_path / "stores"), "fixity_retries": 1}
    if db_url:
        values["database_url"] = db_url
    values.update(overrides)
    return make_archive(tmp_path, **values)


# what one ingest_pdf stores: its content, its manifest and the state record of the signing chain it opens
OBJECTS_PER_UPLOAD = 3
COPIES_PER_UPLOAD = 3 * OBJECTS_PER_UPLOAD


def ingest_pdf(a: Archive, tmp_path: Path, name: str = "Học bạ 10A1.pdf", pages: int = 2):
    path = make_pdf(tmp_path / name, pages=pages, extra=uuid.uuid4().bytes)
    return ingest_file(a, path, filename=name, school="T01", type_code="hoc-ba", year="2024-2025")


def store_path(a: Archive, index: int, key: str) -> Path:
    """Where folder store number `index` keeps `key` (to damage it behind the store's back)."""
    root = Path(a.settings.replica_urls[index].removeprefix("file://"))
    return root / key


@pytest.fixture
def farchive(tmp_path: Path) -> Iterator[Archive]:
    a = folder_archive(tmp_path)
    yield a
    a.close()
