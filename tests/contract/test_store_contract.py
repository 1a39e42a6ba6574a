"""The one storage contract: the same tests against memory, folder and S3 over HTTP (moto server and Ceph RGW)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import (
    ChecksumMismatch,
    ObjectConflict,
    ObjectNotFound,
    ReplicaSet,
    RetentionError,
    SourceReadError,
    StorageError,
    Store,
    StoreUnavailable,
    content_key,
)
from storage.folder import FolderStore
from storage.memory import MemoryStore
from storage.s3 import S3Store
from tests.contract.backends import Backend, make_backend, new_bucket
from tests.s3server import closed_port_url


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(store: Store, key: str) -> bytes:
    with store.get(key) as f:
        return f.read()


def test_every_backend_is_a_store(backend: Backend) -> None:
    assert isinstance(backend.store, Store)
    backend.store.ping()


@pytest.mark.parametrize("size", [0, 1, 1000, 20 * 1024 * 1024], ids=["empty", "1B", "1kB", "20MB"])
def test_put_get_roundtrip(backend: Backend, size: int) -> None:
    data = os.urandom(size)
    key = content_key(sha(data))
    info = backend.store.put(key, io.BytesIO(data), sha(data))
    assert (info.key, info.size, info.sha256) == (key, size, sha(data))
    assert read(backend.store, key) == data
    head = backend.store.head(key)
    assert (head.size, head.sha256) == (size, sha(data))
    assert list(backend.store.list()) == [key]


def test_get_streams_in_chunks(backend: Backend) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    backend.store.put("k", io.BytesIO(data), sha(data))
    chunks = []
    with backend.store.get("k") as f:
        while chunk := f.read(1024 * 1024):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 1024 * 1024


@pytest.mark.parametrize("size", [10, 12 * 1024 * 1024], ids=["single-put", "multipart"])
def test_wrong_sha256_is_refused_and_nothing_kept(backend: Backend, size: int) -> None:
    data = os.urandom(size)
    wrong = sha(b"something else")
    with pytest.raises(ChecksumMismatch) as ei:
        backend.store.put("docs/a.pdf", io.BytesIO(data), wrong)
    assert ei.value.expected == wrong
    assert ei.value.key == "docs/a.pdf"
    with pytest.raises(ObjectNotFound):
        backend.store.head("docs/a.pdf")
    assert list(backend.store.list()) == []


def test_same_bytes_again_is_a_no_op(backend: Backend) -> None:
    data = b"hoc ba lop 10A1"
    first = backend.store.put("k", io.BytesIO(data), sha(data))
    again = backend.store.put("k", io.BytesIO(data), sha(data))
    assert (again.size, again.sha256) == (first.size, first.sha256) == (len(data), sha(data))
    assert read(backend.store, "k") == data
    assert list(backend.store.list()) == ["k"]


def test_head_reports_when_the_object_was_written(backend: Backend) -> None:
    # reconcile tells an upload in flight from an old orphan by this time
    before = datetime.now(UTC) - timedelta(seconds=5)  # S3 keeps whole seconds
    data = b"ke hoach bai day"
    backend.store.put("written", io.BytesIO(data), sha(data))
    modified = backend.store.head("written").modified_at
    assert modified is not None and modified.tzinfo is not None
    assert before <= modified <= datetime.now(UTC) + timedelta(seconds=5)


def test_same_key_same_digest_but_bad_stream_is_still_refused(backend: Backend) -> None:
    data = b"so diem"
    backend.store.put("k", io.BytesIO(data), sha(data))
    with pytest.raises(ChecksumMismatch):
        backend.store.put("k", io.BytesIO(b"so diem!"), sha(data))
    assert read(backend.store, "k") == data


def test_different_bytes_conflict_and_original_survives(backend: Backend) -> None:
    backend.store.put("k", io.BytesIO(b"one"), sha(b"one"))
    with pytest.raises(ObjectConflict):
        backend.store.put("k", io.BytesIO(b"two"), sha(b"two"))
    assert read(backend.store, "k") == b"one"


def test_replace_corrupt_repairs_a_damaged_copy(backend: Backend) -> None:
    data = os.urandom(4096)
    backend.store.put("k", io.BytesIO(data), sha(data))
    backend.corrupt("k", bytes([data[0] ^ 0xFF]) + data[1:])  # never equal to data (b"X" was, 1 time in 256)
    assert read(backend.store, "k") != data
    with pytest.raises(ObjectConflict):  # without the flag, damaged bytes are not replaced either
        backend.store.put("k", io.BytesIO(data), sha(data))
    info = backend.store.put("k", io.BytesIO(data), sha(data), replace_corrupt=True)
    assert read(backend.store, "k") == data
    assert (info.size, info.sha256) == (len(data), sha(data))
    assert list(backend.store.list()) == ["k"]


def test_replace_corrupt_on_an_intact_copy_changes_nothing(backend: Backend) -> None:
    data = b"intact"
    backend.store.put("k", io.BytesIO(data), sha(data))
    backend.store.put("k", io.BytesIO(data), sha(data), replace_corrupt=True)
    assert read(backend.store, "k") == data


def test_replace_corrupt_still_verifies_the_new_bytes(backend: Backend) -> None:
    data = b"the real thing"
    backend.store.put("k", io.BytesIO(data), sha(data))
    backend.corrupt("k", b"rot")
    with pytest.raises(ChecksumMismatch):
        backend.store.put("k", io.BytesIO(b"not the real thing"), sha(data), replace_corrupt=True)
    assert read(backend.store, "k") == b"rot"  # left as it was for the next repair attempt


def test_missing_key(backend: Backend) -> None:
    with pytest.raises(ObjectNotFound) as ei:
        backend.store.get("nope/x")
    assert ei.value.key == "nope/x"
    with pytest.raises(ObjectNotFound):
        backend.store.head("nope/x")
    with pytest.raises(ObjectNotFound):
        backend.store.delete("nope/x")


def test_delete(backend: Backend) -> None:
    backend.store.put("a/b/c", io.BytesIO(b"x"), sha(b"x"))
    backend.store.put("a/d", io.BytesIO(b"y"), sha(b"y"))
    backend.store.delete("a/b/c")
    with pytest.raises(ObjectNotFound):
        backend.store.head("a/b/c")
    assert list(backend.store.list()) == ["a/d"]
    # the key can be written again afterwards, with other bytes
    backend.store.put("a/b/c", io.BytesIO(b"z"), sha(b"z"))
    assert read(backend.store, "a/b/c") == b"z"


def test_list_with_prefix_in_key_order(backend: Backend) -> None:
    keys = ["a/1", "a/2", "a-b", "ab", "b/1", "content/0f/0f00", "a/sub/deep"]
    for k in keys:
        backend.store.put(k, io.BytesIO(k.encode()), sha(k.encode()))
    assert list(backend.store.list()) == sorted(keys)
    assert list(backend.store.list("a/")) == ["a/1", "a/2", "a/sub/deep"]
    assert list(backend.store.list("a")) == sorted(["a/1", "a/2", "a-b", "ab", "a/sub/deep"])
    assert list(backend.store.list("a/s")) == ["a/sub/deep"]
    assert list(backend.store.list("content/")) == ["content/0f/0f00"]
    assert list(backend.store.list("zzz")) == []


@pytest.mark.parametrize("key", ["", "/abs", "../up", "a/../b", "a//b", "a/./b", "a/", "a\\b", "nul\x00"])
def test_invalid_keys_are_refused(backend: Backend, key: str) -> None:
    with pytest.raises(StorageError):
        backend.store.put(key, io.BytesIO(b"x"), sha(b"x"))
    with pytest.raises(StorageError) as ei:
        backend.store.get(key)
    assert not isinstance(ei.value, ObjectNotFound)
    assert list(backend.store.list()) == []


def test_vietnamese_keys(backend: Backend) -> None:
    key = "truong/THPT Nguyễn Trãi/học bạ 2024–2025.pdf"
    backend.store.put(key, io.BytesIO(b"pdf"), sha(b"pdf"))
    assert list(backend.store.list("truong/THPT Nguyễn")) == [key]
    assert read(backend.store, key) == b"pdf"


def test_failing_source_stream_raises_storage_error_and_keeps_nothing(backend: Backend) -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            if self.sent >= 3 * 1024 * 1024:
                raise OSError("client went away")
            n = min(len(b), 1024 * 1024)
            b[:n] = b"z" * n
            self.sent += n
            return n

    with pytest.raises(SourceReadError):
        backend.store.put("k", Failing(), sha(b"whatever"))  # type: ignore[arg-type]
    with pytest.raises(ObjectNotFound):
        backend.store.head("k")
    assert list(backend.store.list()) == []


def test_concurrent_writers_of_the_same_bytes(backend: Backend) -> None:
    data = os.urandom(256 * 1024)
    errors: list[BaseException] = []

    def put() -> None:
        try:
            backend.store.put("k", io.BytesIO(data), sha(data))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read(backend.store, "k") == data
    assert list(backend.store.list()) == ["k"]


# ---- retention and legal hold ---------------------------------------------------------------------------------


def _future(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def test_supports_object_lock_is_declared(locking_backend: Backend) -> None:
    expected = {"memory": True, "folder": False, "s3-lock": True, "rgw-lock": True}[locking_backend.kind]
    assert locking_backend.store.supports_object_lock is expected


def test_retention_blocks_delete_and_is_never_shortened(locking_backend: Backend) -> None:
    store = locking_backend.store
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    until = _future(30)
    store.set_retention("k", until)
    assert store.head("k").retain_until == until
    with pytest.raises(RetentionError):
        store.delete("k")
    with pytest.raises(RetentionError):
        store.set_retention("k", until - timedelta(days=1))
    assert store.head("k").retain_until == until
    store.set_retention("k", until)  # the same date again is fine
    store.set_retention("k", until + timedelta(days=365))  # extending is fine
    assert store.head("k").retain_until == until + timedelta(days=365)
    with pytest.raises(RetentionError):
        store.delete("k")
    assert read(store, "k") == b"x"


def test_retention_of_missing_key(locking_backend: Backend) -> None:
    with pytest.raises(ObjectNotFound):
        locking_backend.store.set_retention("nope", _future(1))
    with pytest.raises(ObjectNotFound):
        locking_backend.store.set_legal_hold("nope", True)


def test_expired_retention_allows_delete(locking_backend: Backend) -> None:
    if locking_backend.kind in ("s3-lock", "rgw-lock"):
        pytest.skip("S3 rejects (or moto locks forever) a retention date in the past; nothing to learn here")
    store = locking_backend.store
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    store.set_retention("k", datetime.now(UTC) - timedelta(seconds=1))
    store.delete("k")
    with pytest.raises(ObjectNotFound):
        store.head("k")


def test_legal_hold_blocks_delete_until_released(locking_backend: Backend) -> None:
    store = locking_backend.store
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    store.set_legal_hold("k", True)
    assert store.head("k").legal_hold is True
    with pytest.raises(RetentionError):
        store.delete("k")
    assert read(store, "k") == b"x"
    store.set_legal_hold("k", False)
    assert store.head("k").legal_hold is False
    store.delete("k")
    with pytest.raises(ObjectNotFound):
        store.head("k")


def test_repair_under_retention_keeps_the_lock(locking_backend: Backend) -> None:
    store = locking_backend.store
    data = b"bien ban hop hoi dong"
    store.put("k", io.BytesIO(data), sha(data))
    locking_backend.corrupt("k", b"damaged")
    until = _future(10)
    store.set_retention("k", until)
    store.set_legal_hold("k", True)
    store.put("k", io.BytesIO(data), sha(data), replace_corrupt=True)
    assert read(store, "k") == data
    head = store.head("k")
    assert (head.retain_until, head.legal_hold) == (until, True)
    with pytest.raises(RetentionError):
        store.delete("k")


def test_s3_bucket_without_object_lock_refuses_retention(moto_endpoint: str, s3_client) -> None:  # type: ignore[no-untyped-def]
    store = S3Store(f"s3://{new_bucket(s3_client)}?endpoint_url={moto_endpoint}")
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    assert store.supports_object_lock is False
    with pytest.raises(RetentionError):
        store.set_retention("k", _future(1))
    with pytest.raises(RetentionError):
        store.set_legal_hold("k", True)
    store.delete("k")


def test_folder_retention_is_advisory_but_recorded(tmp_path: Path) -> None:
    """A folder cannot stop anyone with filesystem access; it says so, records the dates and honours them itself,
    also across store instances (the sidecar is on disk)."""
    url = (tmp_path / "f").as_uri()
    store = FolderStore(url)
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    until = _future(5)
    store.set_retention("k", until)
    store.set_legal_hold("k", True)
    assert store.supports_object_lock is False
    reopened = FolderStore(url)
    assert reopened.head("k").legal_hold is True
    assert reopened.head("k").retain_until == until
    with pytest.raises(RetentionError, match="advisory"):
        reopened.delete("k")
    (tmp_path / "f" / "k").unlink()  # ...but nothing stops the filesystem
    with pytest.raises(ObjectNotFound):
        reopened.head("k")


# ---- unavailable stores ---------------------------------------------------------------------------------------


def _quick(fn, limit: float = 10.0) -> StoreUnavailable:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as ei:
        fn()
    assert time.monotonic() - start < limit, "a dead store must fail in seconds"
    return ei.value


@pytest.mark.s3
def test_s3_dead_endpoint_is_unavailable_quickly(moto_endpoint: str) -> None:
    store = S3Store(f"s3://bucket?endpoint_url={closed_port_url()}")
    err = _quick(store.ping)
    assert "127.0.0.1" in err.reason
    _quick(lambda: store.head("k"))
    _quick(lambda: store.get("k"))
    _quick(lambda: store.put("k", io.BytesIO(b"x"), sha(b"x")))
    _quick(lambda: list(store.list()))


@pytest.mark.s3
def test_s3_missing_bucket_is_unavailable_not_missing_object(moto_endpoint: str) -> None:
    store = S3Store(f"s3://no-such-bucket-here?endpoint_url={moto_endpoint}")
    for call in (store.ping, lambda: store.head("k"), lambda: store.get("k"), lambda: list(store.list())):
        err = _quick(call)
        assert "does not exist" in err.reason


@pytest.mark.parametrize("damage", ["removed", "replaced-by-file"])
def test_folder_root_gone_is_unavailable_not_missing_object(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "disk"
    store = FolderStore(root.as_uri())
    store.put("a/k", io.BytesIO(b"x"), sha(b"x"))
    store.ping()
    shutil.rmtree(root)
    if damage == "replaced-by-file":
        root.write_bytes(b"not a folder")
    for call in (
        store.ping,
        lambda: store.head("a/k"),
        lambda: store.get("a/k"),
        lambda: store.delete("a/k"),
        lambda: list(store.list()),
        lambda: store.put("a/k", io.BytesIO(b"x"), sha(b"x")),
    ):
        err = _quick(call)
        assert "missing or not a folder" in err.reason
    assert not (root.is_dir())  # nothing recreated it behind our back


def test_memory_store_down(tmp_path: Path) -> None:
    store = MemoryStore("memory://down")
    store.available = False
    _quick(store.ping)


# ---- the three-replica set across real backends -------------------------------------------------------------------


@pytest.mark.s3
@pytest.mark.parametrize("s3_kind", ["s3", pytest.param("rgw", marks=pytest.mark.rgw)])
@pytest.mark.parametrize("damaged", [0, 1, 2])
def test_replica_set_memory_folder_s3_falls_back_from_a_corrupt_copy(
    tmp_path: Path, request: pytest.FixtureRequest, damaged: int, s3_kind: str
) -> None:
    backends = [make_backend(kind, request, tmp_path) for kind in ("memory", "folder", s3_kind)]
    rs = ReplicaSet([b.store for b in backends])
    try:
        data = os.urandom(2 * 1024 * 1024 + 17)
        digest = sha(data)
        key = content_key(digest)
        results = rs.put_bytes(key, data, digest)
        assert [r.state for r in results] == ["ok", "ok", "ok"]

        # the last byte flipped: random data ends in b"!" once in 256 runs, and "damaging" it with b"!" changed nothing
        backends[damaged].corrupt(key, data[:-1] + bytes([data[-1] ^ 0xFF]))
        states = [r.state for r in rs.verify_all(key, digest)]
        assert states == ["corrupt" if i == damaged else "ok" for i in range(3)]

        bad = []
        store, chunks = rs.open_verified(key, digest, on_bad=bad.append)
        assert b"".join(chunks) == data
        assert store is backends[1 if damaged == 0 else 0].store
        assert [b.store for b in bad] == ([backends[0].store.url] if damaged == 0 else [])

        # repair the damaged copy from a good one, then all three verify again
        backends[damaged].store.put(key, io.BytesIO(data), digest, replace_corrupt=True)
        assert [r.state for r in rs.verify_all(key, digest)] == ["ok", "ok", "ok"]
    finally:
        rs.close()


@pytest.mark.s3
def test_replica_set_reports_a_dead_s3_replica(tmp_path: Path) -> None:
    stores = [
        MemoryStore("memory://rs-dead"),
        FolderStore((tmp_path / "f").as_uri()),
        S3Store(f"s3://bucket?endpoint_url={closed_port_url()}&max_attempts=1"),
    ]
    rs = ReplicaSet(stores, min_copies=2)
    try:
        results = rs.put_bytes("k", b"abc", sha(b"abc"))
        assert [r.state for r in results] == ["ok", "ok", "unreachable"]
        health = rs.ping_all()
        assert health[stores[0].url] == "ok" and health[stores[2].url].startswith("unreachable")
    finally:
        rs.close()
