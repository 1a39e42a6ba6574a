"""S3Store details beyond the shared contract: server checksums, metadata, multipart hygiene, Object Lock modes,
versions, URL options. moto over HTTP, one bucket per test; the Object Lock rules on Ceph RGW as well."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage import (
    ChecksumMismatch,
    ObjectConflict,
    ObjectNotFound,
    RetentionError,
    StorageError,
    StoreUnavailable,
)
from storage.registry import open_store
from storage.s3 import S3Store
from tests.contract.backends import new_bucket
from tests.s3fixtures import S3Server

pytestmark = pytest.mark.s3

BIG = 11 * 1024 * 1024  # two parts at the default 8 MiB part size


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def bucket(s3_client: Any) -> str:
    return new_bucket(s3_client)


@dataclass(frozen=True)
class LockBucket:
    name: str
    endpoint: str
    client: Any


@pytest.fixture
def locked(s3_server: S3Server) -> LockBucket:
    """A fresh Object Lock bucket on moto, then on Ceph RGW: the Object Lock rules below hold on both."""
    return LockBucket(new_bucket(s3_server.client, object_lock=True), s3_server.endpoint, s3_server.client)


def make(bucket: str, endpoint: str, query: str = "") -> S3Store:
    store = open_store(f"s3://{bucket}?endpoint_url={endpoint}{query}")
    assert isinstance(store, S3Store)
    return store


def in_progress_uploads(client: Any, bucket: str) -> list[Any]:
    return list(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_metadata_and_server_checksum_are_stored(bucket: str, moto_endpoint: str, s3_client: Any) -> None:
    store = make(bucket, moto_endpoint)
    data = b"so dang bo"
    store.put("k", io.BytesIO(data), sha(data))
    head = s3_client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["Metadata"]["sha256"] == sha(data)
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_multipart_upload_is_used_for_big_objects_and_checks_out(
    bucket: str, moto_endpoint: str, s3_client: Any
) -> None:
    store = make(bucket, moto_endpoint)
    data = os.urandom(BIG)
    store.put("big", io.BytesIO(data), sha(data))
    head = s3_client.head_object(Bucket=bucket, Key="big")
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert head["Metadata"]["sha256"] == sha(data)
    assert in_progress_uploads(s3_client, bucket) == []


def test_wrong_digest_on_multipart_aborts_the_upload(bucket: str, moto_endpoint: str, s3_client: Any) -> None:
    store = make(bucket, moto_endpoint)
    with pytest.raises(ChecksumMismatch):
        store.put("big", io.BytesIO(os.urandom(BIG)), sha(b"other"))
    assert in_progress_uploads(s3_client, bucket) == []
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket)


def _tamper(store: S3Store, method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the server 'report' a checksum other than the one of the bytes we sent (moto never does by itself)."""
    client = store.client
    real = getattr(client, method)

    def tampered(**kwargs: Any) -> Any:
        resp = real(**kwargs)
        resp["ChecksumSHA256"] = base64.b64encode(b"\x01" * 32).decode()
        return resp

    monkeypatch.setattr(client, method, tampered)


def test_server_reporting_another_checksum_is_refused_and_the_copy_deleted(
    bucket: str, moto_endpoint: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make(bucket, moto_endpoint)
    _tamper(store, "put_object", monkeypatch)
    with pytest.raises(ChecksumMismatch, match="reported by S3; the bad copy was deleted"):
        store.put("k", io.BytesIO(b"abc"), sha(b"abc"))
    with pytest.raises(ObjectNotFound):
        store.head("k")


def test_server_reporting_another_part_checksum_aborts(
    bucket: str, moto_endpoint: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make(bucket, moto_endpoint)
    _tamper(store, "upload_part", monkeypatch)
    data = os.urandom(BIG)
    with pytest.raises(ChecksumMismatch, match="part 1"):
        store.put("big", io.BytesIO(data), sha(data))
    assert in_progress_uploads(s3_client, bucket) == []
    with pytest.raises(ObjectNotFound):
        store.head("big")


def test_server_reporting_another_composite_checksum_is_refused(
    bucket: str, moto_endpoint: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make(bucket, moto_endpoint)
    _tamper(store, "complete_multipart_upload", monkeypatch)
    data = os.urandom(BIG)
    with pytest.raises(ChecksumMismatch, match="composite"):
        store.put("big", io.BytesIO(data), sha(data))
    with pytest.raises(ObjectNotFound):
        store.head("big")


def test_a_writer_sneaking_in_between_check_and_write_is_not_clobbered(
    bucket: str, moto_endpoint: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make(bucket, moto_endpoint)
    real = store._upload

    def racing(key: str, stream: Any, digest: str, *, conditional: bool) -> Any:
        s3_client.put_object(Bucket=bucket, Key=key, Body=b"the other writer")
        return real(key, stream, digest, conditional=conditional)

    monkeypatch.setattr(store, "_upload", racing)
    with pytest.raises(ObjectConflict):
        store.put("k", io.BytesIO(b"ours"), sha(b"ours"))
    assert s3_client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"the other writer"


def test_prefix_isolates_keys(bucket: str, moto_endpoint: str, s3_client: Any) -> None:
    store = open_store(f"s3://{bucket}/so-gd/replica-3?endpoint_url={moto_endpoint}")
    store.put("content/ab/abc", io.BytesIO(b"x"), sha(b"x"))
    s3_client.put_object(Bucket=bucket, Key="outside", Body=b"y")
    assert list(store.list()) == ["content/ab/abc"]
    assert s3_client.get_object(Bucket=bucket, Key="so-gd/replica-3/content/ab/abc")["Body"].read() == b"x"
    with pytest.raises(ObjectNotFound):
        store.head("outside")


def test_governance_mode_from_the_url_and_compliance_never_downgraded(locked: LockBucket) -> None:
    lock_bucket, endpoint, client = locked.name, locked.endpoint, locked.client
    gov = make(lock_bucket, endpoint, "&lock_mode=GOVERNANCE")
    comp = make(lock_bucket, endpoint)
    until = datetime.now(UTC) + timedelta(days=3)
    gov.put("g", io.BytesIO(b"g"), sha(b"g"))
    gov.set_retention("g", until)
    assert client.head_object(Bucket=lock_bucket, Key="g")["ObjectLockMode"] == "GOVERNANCE"
    comp.put("c", io.BytesIO(b"c"), sha(b"c"))
    comp.set_retention("c", until)
    gov.set_retention("c", until + timedelta(days=1))
    assert client.head_object(Bucket=lock_bucket, Key="c")["ObjectLockMode"] == "COMPLIANCE"


def test_retention_dates_are_rounded_up_never_down(locked: LockBucket) -> None:
    lock_bucket, endpoint = locked.name, locked.endpoint
    store = make(lock_bucket, endpoint)
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    until = datetime.now(UTC) + timedelta(days=1)
    store.set_retention("k", until.replace(microsecond=250_000))
    stored = store.head("k").retain_until
    assert stored is not None and stored >= until.replace(microsecond=250_000)
    assert stored - until.replace(microsecond=0) == timedelta(seconds=1)


def test_naive_retention_dates_are_utc(locked: LockBucket) -> None:
    lock_bucket, endpoint = locked.name, locked.endpoint
    store = make(lock_bucket, endpoint)
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    naive = datetime(2099, 1, 2, 3, 4, 5)
    store.set_retention("k", naive)
    assert store.head("k").retain_until == naive.replace(tzinfo=UTC)


def test_delete_on_a_versioned_bucket_removes_every_version(locked: LockBucket) -> None:
    lock_bucket, endpoint, client = locked.name, locked.endpoint, locked.client
    store = make(lock_bucket, endpoint)
    data = b"good"
    store.put("k", io.BytesIO(data), sha(data))
    client.put_object(Bucket=lock_bucket, Key="k", Body=b"rot")
    store.put("k", io.BytesIO(data), sha(data), replace_corrupt=True)
    assert len(client.list_object_versions(Bucket=lock_bucket, Prefix="k")["Versions"]) == 3
    store.delete("k")
    listing = client.list_object_versions(Bucket=lock_bucket, Prefix="k")
    assert listing.get("Versions", []) == [] and listing.get("DeleteMarkers", []) == []
    with pytest.raises(ObjectNotFound):
        store.head("k")


def test_delete_stops_at_a_locked_old_version_and_keeps_the_object(locked: LockBucket) -> None:
    lock_bucket, endpoint, client = locked.name, locked.endpoint, locked.client
    store = make(lock_bucket, endpoint)
    store.put("k", io.BytesIO(b"v1"), sha(b"v1"))
    store.set_retention("k", datetime.now(UTC) + timedelta(days=1))
    client.put_object(Bucket=lock_bucket, Key="k", Body=b"v2")  # a newer, unlocked version
    with pytest.raises(RetentionError):
        store.delete("k")
    assert client.get_object(Bucket=lock_bucket, Key="k")["Body"].read() == b"v2"


@pytest.mark.parametrize(
    "query", ["&colour=blue", "&part_size=1024", "&lock_mode=LOOSE", "&max_attempts=0", "&object_lock=maybe"]
)
def test_bad_url_options_are_refused(query: str) -> None:
    with pytest.raises(StorageError):
        S3Store(f"s3://bucket?endpoint_url=http://127.0.0.1:1{query}")


def test_no_credentials_is_unavailable(
    bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = make(bucket, moto_endpoint)
    with pytest.raises(StoreUnavailable, match="credentials"):
        store.ping()


def test_object_lock_can_be_declared_in_the_url(bucket: str, moto_endpoint: str) -> None:
    assert make(bucket, moto_endpoint, "&object_lock=false").supports_object_lock is False
    assert make(bucket, moto_endpoint).supports_object_lock is False


def test_folder_markers_are_not_listed(bucket: str, moto_endpoint: str, s3_client: Any) -> None:
    store = make(bucket, moto_endpoint)
    s3_client.put_object(Bucket=bucket, Key="docs/", Body=b"")
    store.put("docs/a", io.BytesIO(b"a"), sha(b"a"))
    assert list(store.list()) == ["docs/a"]
