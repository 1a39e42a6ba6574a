"""`hoso catalog rebuild --from URL` with a source that cannot be used: a clear bilingual error, the catalog untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.context import Archive
from archive.errors import InvalidInput, StorageDown
from archive.models import Event, Organisation
from hoso.bootstrap import build_archive
from retention.rebuild import catalog_is_empty, rebuild_catalog
from tests.factories import make_settings
from tests.processes import free_port


@pytest.fixture
def empty(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = build_archive(make_settings(tmp_path, database_url=db_url), migrate=True)
    yield a
    a.close()


def _untouched(a: Archive) -> None:
    with a.sessions() as s:
        assert catalog_is_empty(s)
        assert s.scalar(select(func.count()).select_from(Organisation)) == 0
        assert s.scalar(select(Event).where(Event.action == "catalog.rebuild")) is None


def test_unknown_scheme_is_a_clear_error(empty: Archive):
    with pytest.raises(InvalidInput) as e:
        rebuild_catalog(empty, "ftp://backup.example/hoso")
    assert e.value.code == "bad_store_url"
    assert "Không mở được kho" in e.value.message_vi and "Cannot open store" in e.value.message_en
    _untouched(empty)


def test_a_folder_without_manifests_is_refused_not_rebuilt_as_nothing(empty: Archive, tmp_path: Path):
    with pytest.raises(InvalidInput) as e:
        rebuild_catalog(empty, f"file://{tmp_path / 'no-such-folder'}")
    assert e.value.code == "no_manifests"
    _untouched(empty)


def test_an_unreachable_store_is_storage_down(empty: Archive, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    url = f"s3://hoso-backup?endpoint_url=http://127.0.0.1:{free_port()}&max_attempts=1&connect_timeout=1"
    with pytest.raises(StorageDown) as e:
        rebuild_catalog(empty, url)
    assert "Không đọc được kho" in e.value.message_vi and "Cannot read store" in e.value.message_en
    _untouched(empty)
