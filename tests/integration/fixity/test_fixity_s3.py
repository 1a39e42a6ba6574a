"""Fixity and repair with one replica on S3 over HTTP, on moto and on Ceph RGW, plain and Object Lock buckets: a
copy changed, cut short or deleted behind hoso's back is found and rewritten from a copy hoso hashed itself; on a
locked bucket the repair is a new version that keeps the lock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.context import Archive
from retention.fixity import full_run, light_run
from storage import content_key
from storage.s3 import S3Store
from tests.contract.backends import new_bucket
from tests.s3fixtures import S3Server

from .conftest import folder_archive, ingest_pdf

pytestmark = pytest.mark.s3

FAST = {"retry_delay": 0.01}


@pytest.fixture(params=["plain", "lock"])
def s3_archive(request: pytest.FixtureRequest, s3_server: S3Server, tmp_path: Path) -> Iterator[Archive]:
    bucket = new_bucket(s3_server.client, object_lock=request.param == "lock")
    url = f"s3://{bucket}/hoso?endpoint_url={s3_server.endpoint}"
    folders = [f"file://{tmp_path / 'stores' / f'copy{i}'}" for i in (1, 2)]
    a = folder_archive(tmp_path, replicas=[folders[0], url, folders[1]])
    yield a
    a.close()


def _s3(a: Archive) -> S3Store:
    store = a.replicas.stores[1]
    assert isinstance(store, S3Store)
    return store


def _overwrite(store: S3Store, key: str, data: bytes) -> None:
    """Damage behind the store's back (on a versioned bucket: a new current version)."""
    store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)


def _read(store: S3Store, key: str) -> bytes:
    with store.get(key) as f:
        return f.read()


def test_a_bit_flip_on_s3_is_found_by_the_full_check_and_repaired(s3_archive: Archive, tmp_path: Path):
    r = ingest_pdf(s3_archive, tmp_path)
    store = _s3(s3_archive)
    key = content_key(r.version.sha256)
    good = _read(store, key)
    if store.supports_object_lock:
        until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        store.set_retention(key, until)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    _overwrite(store, key, bytes(flipped))

    report = full_run(s3_archive, **FAST)
    assert [(d.state, d.store, d.repaired) for d in report.damage] == [("corrupt", store.url, True)]
    assert report.damage[0].found == hashlib.sha256(bytes(flipped)).hexdigest()
    assert _read(store, key) == good and report.clean
    if store.supports_object_lock:
        # the locked original is still there underneath the damage and the repair (versions are never rewritten);
        # the new current version gets its retention from the daily lock sync
        versions = store.client.list_object_versions(Bucket=store.bucket, Prefix=store.prefix + key)[
            "Versions"
        ]
        assert len(versions) == 3
        locks = [
            store.client.head_object(Bucket=store.bucket, Key=v["Key"], VersionId=v["VersionId"]).get(
                "ObjectLockRetainUntilDate"
            )
            for v in versions
        ]
        assert locks.count(until) == 1
    assert full_run(s3_archive, **FAST).damage == ()


def test_a_truncated_s3_copy_is_found_by_the_light_check(s3_archive: Archive, tmp_path: Path):
    r = ingest_pdf(s3_archive, tmp_path)
    store = _s3(s3_archive)
    key = content_key(r.version.sha256)
    good = _read(store, key)
    _overwrite(store, key, good[:1000])

    report = light_run(s3_archive, **FAST)
    assert [(d.state, d.repaired) for d in report.damage] == [("corrupt", True)]
    assert _read(store, key) == good


def test_a_deleted_s3_copy_is_rewritten(s3_archive: Archive, tmp_path: Path):
    r = ingest_pdf(s3_archive, tmp_path)
    store = _s3(s3_archive)
    key = content_key(r.version.sha256)
    good = _read(store, key)
    store.delete(key)  # every version: as if an operator emptied the key

    report = light_run(s3_archive, **FAST)
    assert [(d.state, d.repaired) for d in report.damage] == [("missing", True)]
    assert _read(store, key) == good
