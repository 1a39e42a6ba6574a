"""FolderStore specifics the contract suite cannot see: atomic writes, fsyncs, temp files, key rules, sidecars."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import time
from pathlib import Path

import pytest

import storage.folder as folder_mod
from storage import (
    ChecksumMismatch,
    ObjectConflict,
    ObjectNotFound,
    SourceReadError,
    StorageError,
    StoreUnavailable,
)
from storage._io import GuardedReader
from storage.folder import INTERNAL, XATTR, FolderStore


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> FolderStore:
    return FolderStore(root.as_uri())


def temp_files(root: Path) -> list[str]:
    tmp = root / INTERNAL / "tmp"
    return sorted(os.listdir(tmp)) if tmp.is_dir() else []


# ---- URLs ----------------------------------------------------------------------------------------------------------


def test_root_is_created(root: Path) -> None:
    assert not root.exists()
    FolderStore(root.as_uri()).ping()
    assert root.is_dir()


def test_create_false_leaves_a_missing_root_missing(root: Path) -> None:
    store = FolderStore(root.as_uri() + "?create=false")
    assert not root.exists()
    with pytest.raises(StoreUnavailable):
        store.ping()


@pytest.mark.parametrize(
    "url", ["file://relative/path", "file:relative", "s3://x", "file:///abs?colour=blue"]
)
def test_bad_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(StorageError):
        FolderStore(url)


def test_percent_encoded_path(tmp_path: Path) -> None:
    root = tmp_path / "Trường THPT"
    store = FolderStore(root.as_uri())
    assert "%" in store.url
    assert store.root == root
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    assert (root / "k").read_bytes() == b"x"


# ---- atomic writes -------------------------------------------------------------------------------------------------


class FailingStream(io.RawIOBase):
    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self.left <= 0:
            raise OSError(errno.ECONNRESET, "connection reset by peer")
        n = min(len(b), self.left)
        b[:n] = b"a" * n
        self.left -= n
        return n


def test_failing_stream_midway_leaves_no_object_and_no_temp(store: FolderStore, root: Path) -> None:
    with pytest.raises(SourceReadError) as ei:
        store.put("docs/k.pdf", FailingStream(2_500_000), sha(b"a" * 5_000_000))  # type: ignore[arg-type]
    assert "connection reset" in str(ei.value)
    assert not (root / "docs" / "k.pdf").exists()
    assert temp_files(root) == []
    assert list(store.list()) == []


def test_wrong_digest_removes_the_temp_file(store: FolderStore, root: Path) -> None:
    with pytest.raises(ChecksumMismatch):
        store.put("k", io.BytesIO(b"x" * 3_000_000), sha(b"y"))
    assert temp_files(root) == []
    assert not (root / "k").exists()


def test_crash_leftovers_are_invisible_and_cleaned(store: FolderStore, root: Path) -> None:
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    tmp = root / INTERNAL / "tmp"
    old, fresh = tmp / "dead.tmp", tmp / "inflight.tmp"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"another")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert list(store.list()) == ["k"]
    with pytest.raises(StorageError):
        store.head(f"{INTERNAL}/tmp/dead.tmp")  # the internal folder is not addressable
    assert store.cleanup_temp(older_than=3600) == 1
    assert temp_files(root) == ["inflight.tmp"]


def test_directory_fsync_after_link_and_for_new_folders(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ping()  # root and the internal folders exist already
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        path = os.readlink(f"/proc/self/fd/{fd}")
        synced.append((path, stat.S_ISDIR(st.st_mode)))
        real_fsync(fd)

    monkeypatch.setattr(folder_mod.os, "fsync", spy)
    store.put("a/b/c.pdf", io.BytesIO(b"data"), sha(b"data"))
    dirs = [p for p, is_dir in synced if is_dir]
    files = [p for p, is_dir in synced if not is_dir]
    assert len(files) == 1 and files[0].startswith(str(root / INTERNAL / "tmp"))  # the data, before linking
    # the folder holding the new entry, and each parent that gained a new folder
    assert str(root / "a" / "b") in dirs
    assert str(root / "a") in dirs
    assert str(root) in dirs
    # the data was synced before the folder entry pointing at it
    assert synced.index((files[0], False)) < synced.index((str(root / "a" / "b"), True))


def test_never_clobbers_a_key_written_concurrently(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store._write_temp

    def racing(key, stream, digest):  # type: ignore[no-untyped-def]
        out = real(key, stream, digest)
        (root / "k").write_bytes(b"the other writer won")  # appears between our check and our link
        return out

    monkeypatch.setattr(store, "_write_temp", racing)
    with pytest.raises(ObjectConflict):
        store.put("k", io.BytesIO(b"ours"), sha(b"ours"))
    assert (root / "k").read_bytes() == b"the other writer won"
    assert temp_files(root) == []


def test_concurrent_writer_with_same_bytes_is_fine(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store._write_temp

    def racing(key, stream, digest):  # type: ignore[no-untyped-def]
        out = real(key, stream, digest)
        (root / "k").write_bytes(b"same")
        return out

    monkeypatch.setattr(store, "_write_temp", racing)
    info = store.put("k", io.BytesIO(b"same"), sha(b"same"))
    assert info.size == 4
    assert temp_files(root) == []


# ---- keys and layout -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [f"{INTERNAL}/x", "a/" + "x" * 256, "../../etc/passwd", "/etc/passwd", "a//b"]
)
def test_key_rules(store: FolderStore, root: Path, key: str) -> None:
    with pytest.raises(StorageError) as ei:
        store.put(key, io.BytesIO(b"x"), sha(b"x"))
    assert not isinstance(ei.value, StoreUnavailable)
    assert not (root.parent / "etc").exists()


def test_object_and_folder_with_the_same_name(store: FolderStore) -> None:
    store.put("a", io.BytesIO(b"x"), sha(b"x"))
    with pytest.raises(StorageError, match="cannot hold both"):
        store.put("a/b", io.BytesIO(b"y"), sha(b"y"))
    store.put("c/d", io.BytesIO(b"y"), sha(b"y"))
    with pytest.raises(ObjectNotFound):
        store.get("c")
    with pytest.raises(ObjectNotFound):
        store.head("c")
    with pytest.raises(StorageError):
        store.put("c", io.BytesIO(b"z"), sha(b"z"))
    assert list(store.list()) == ["a", "c/d"]


def test_delete_prunes_empty_folders(store: FolderStore, root: Path) -> None:
    store.put("x/y/z", io.BytesIO(b"1"), sha(b"1"))
    store.put("x/w", io.BytesIO(b"2"), sha(b"2"))
    store.delete("x/y/z")
    assert not (root / "x" / "y").exists()
    assert (root / "x").is_dir()


def test_sha256_is_kept_in_an_xattr(store: FolderStore, root: Path) -> None:
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    assert os.getxattr(root / "k", XATTR).decode() == sha(b"x")
    assert store.head("k").sha256 == sha(b"x")
    assert not (root / INTERNAL / "meta").exists()  # no sidecar needed


def test_sha256_falls_back_to_a_sidecar_without_xattrs(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_xattr(*args: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(folder_mod.os, "setxattr", no_xattr)
    monkeypatch.setattr(folder_mod.os, "getxattr", no_xattr)
    store.put("k", io.BytesIO(b"x"), sha(b"x"))
    assert store.head("k").sha256 == sha(b"x")
    sidecars = list((root / INTERNAL / "meta").rglob("*.json"))
    assert len(sidecars) == 1 and sha(b"x") in sidecars[0].read_text()
    store.delete("k")
    assert list((root / INTERNAL / "meta").rglob("*.json")) == []


def test_read_errors_become_store_unavailable() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            raise OSError(errno.EIO, "Input/output error")

    reader = GuardedReader(Broken(), lambda exc: StoreUnavailable("file:///x", str(exc)))
    with pytest.raises(StoreUnavailable, match="Input/output"):
        reader.read(10)


def test_ping_fails_on_a_read_only_root(
    store: FolderStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ping()

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(folder_mod.os, "open", refuse)
    with pytest.raises(StoreUnavailable, match="not permitted"):
        store.ping()


def test_registry_opens_folder_and_s3_stores(root: Path) -> None:
    from storage import open_store
    from storage.s3 import S3Store

    assert isinstance(open_store(root.as_uri()), FolderStore)
    s3 = open_store("s3://bucket/pre/fix?endpoint_url=http://127.0.0.1:1&region=eu-west-1")
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix, s3.region) == ("bucket", "pre/fix/", "eu-west-1")


@pytest.mark.parametrize("url", ["s3://[bucket/prefix", "file://[::1/tmp/x"])
def test_registry_refuses_unparsable_urls_as_storage_errors(url: str) -> None:
    from storage import open_store

    with pytest.raises(StorageError, match="not a valid store URL"):
        open_store(url)
