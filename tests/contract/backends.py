"""Store backends for the contract suite, and how to damage each behind its back (importable helpers)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.folder import FolderStore
from storage.memory import MemoryStore
from storage.s3 import S3Store


def new_bucket(client: Any, *, object_lock: bool = False) -> str:
    name = f"hoso-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
    return name


@dataclass
class Backend:
    """A store under test plus a way to damage its copies behind its back."""

    kind: str
    store: Any
    corrupt: Callable[[str, bytes], None]


def _memory() -> Backend:
    store = MemoryStore(f"memory://contract-{uuid.uuid4().hex}")
    return Backend("memory", store, store.corrupt)


def _folder(tmp_path: Path) -> Backend:
    root = tmp_path / "store"
    store = FolderStore(root.as_uri())

    def corrupt(key: str, data: bytes) -> None:
        path = root / key
        path.write_bytes(data)  # same inode, bytes changed: what bit rot or a careless admin does

    return Backend("folder", store, corrupt)


def _s3(client: Any, endpoint: str, *, object_lock: bool, prefix: str, name: str) -> Backend:
    bucket = new_bucket(client, object_lock=object_lock)
    store = S3Store(f"s3://{bucket}/{prefix}?endpoint_url={endpoint}")

    def corrupt(key: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=store.prefix + key, Body=data)
        # Under load the moto server has (rarely) served the previous bytes right after this overwrite; wait until the
        # damage is visible at the server, so the test checks our code and not moto's timing.
        for _ in range(100):
            if client.get_object(Bucket=bucket, Key=store.prefix + key)["Body"].read() == data:
                return
            time.sleep(0.05)
        raise AssertionError(f"the S3 server never served the damaged bytes of {key!r}")

    return Backend(name, store, corrupt)


def _server_kind(kind: str) -> str:
    return "rgw" if kind.startswith("rgw") else "moto"


S3_KINDS = ("s3", "s3-prefixed", "s3-lock", "rgw", "rgw-prefixed", "rgw-lock")
ALL = [
    "memory",
    "folder",
    pytest.param("s3", marks=pytest.mark.s3),
    pytest.param("s3-prefixed", marks=pytest.mark.s3),
    pytest.param("rgw", marks=[pytest.mark.s3, pytest.mark.rgw]),
    pytest.param("rgw-prefixed", marks=[pytest.mark.s3, pytest.mark.rgw]),
]
LOCKING = [
    "memory",
    "folder",
    pytest.param("s3-lock", marks=pytest.mark.s3),
    pytest.param("rgw-lock", marks=[pytest.mark.s3, pytest.mark.rgw]),
]


def make_backend(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """`s3*` kinds run on the moto server, `rgw*` on Ceph RGW (tests/s3fixtures.py)."""
    if kind == "memory":
        return _memory()
    if kind == "folder":
        return _folder(tmp_path)
    if kind not in S3_KINDS:
        raise ValueError(kind)
    server = _server_kind(kind)
    endpoint = request.getfixturevalue(f"{server}_endpoint")
    client = request.getfixturevalue("s3_client" if server == "moto" else "rgw_client")
    return _s3(
        client,
        endpoint,
        object_lock=kind.endswith("-lock"),
        prefix="some/prefix" if kind.endswith("-prefixed") else "",
        name=kind,
    )
