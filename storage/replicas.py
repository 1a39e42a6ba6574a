"""A replica set: the same object in every configured store, each copy verified by hash on our side.

Stores' own checksum claims are never trusted: after a write, each copy is read back and hashed here.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .base import CHUNK, Store, sha256_of_object
from .errors import ChecksumMismatch, ObjectNotFound, StorageError, StoreUnavailable

OK = "ok"
MISSING = "missing"
CORRUPT = "corrupt"
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class ReplicaResult:
    store: str
    state: str  # ok / missing / corrupt / unreachable
    detail: str = ""
    found_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == OK


class NotEnoughReplicas(StorageError):
    def __init__(self, key: str, results: Sequence[ReplicaResult], needed: int) -> None:
        good = sum(r.ok for r in results)
        bad = "; ".join(f"{r.store}: {r.state} {r.detail}".strip() for r in results if not r.ok)
        super().__init__(f"only {good} of {needed} required copies of {key!r} verified ({bad})")
        self.key = key
        self.results = list(results)
        self.needed = needed


class NoGoodCopy(StorageError):
    def __init__(self, key: str, results: Sequence[ReplicaResult]) -> None:
        super().__init__(
            f"no copy of {key!r} matches its checksum: " + "; ".join(f"{r.store}: {r.state}" for r in results)
        )
        self.key = key
        self.results = list(results)


def classify(exc: Exception) -> str:
    if isinstance(exc, ObjectNotFound):
        return MISSING
    if isinstance(exc, ChecksumMismatch):
        return CORRUPT
    return UNREACHABLE


def verify_copy(store: Store, key: str, sha256: str) -> ReplicaResult:
    """Full re-read and SHA-256 of one copy."""
    try:
        found, _ = sha256_of_object(store, key)
    except StorageError as exc:
        return ReplicaResult(store.url, classify(exc), str(exc))
    if found != sha256:
        return ReplicaResult(store.url, CORRUPT, f"expected {sha256}, found {found}", found)
    return ReplicaResult(store.url, OK, found_sha256=found)


# copies up to this size are served from one read into memory (one read and one hash per download instead of two
# of each; 50 parallel downloads of 8 MB hold at most 400 MB); larger ones are streamed
WHOLE_READ = 8 * CHUNK


def read_small_copy(store: Store, key: str, sha256: str) -> tuple[ReplicaResult | None, bytes | None]:
    """Read a copy of at most WHOLE_READ bytes whole and check it: its result and, when it hashes right, its bytes.
    (None, None) when the copy is larger: the caller verifies and streams it instead."""
    try:
        with store.get(key) as f:
            data = read_at_most(f, WHOLE_READ + 1)
    except StorageError as exc:
        return ReplicaResult(store.url, classify(exc), str(exc)), None
    if len(data) > WHOLE_READ:
        return None, None
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        return ReplicaResult(store.url, CORRUPT, f"expected {sha256}, found {found}", found), None
    return ReplicaResult(store.url, OK, found_sha256=found), data


def read_at_most(f: BinaryIO, limit: int) -> bytes:
    """Up to `limit` bytes (a stream's read(n) may return fewer than n before its end)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0 and (chunk := f.read(min(CHUNK, left))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)  # one copy, not one per chunk


class ReplicaSet:
    def __init__(self, stores: Sequence[Store], min_copies: int | None = None) -> None:
        if not stores:
            raise ValueError("a replica set needs at least one store")
        self.stores = list(stores)
        self.min_copies = len(self.stores) if min_copies is None else min_copies
        if not 1 <= self.min_copies <= len(self.stores):
            raise ValueError(f"min_copies must be between 1 and {len(self.stores)}")
        self._pool = ThreadPoolExecutor(max_workers=max(3, len(self.stores)), thread_name_prefix="replica")

    def store(self, url: str) -> Store:
        for s in self.stores:
            if s.url == url:
                return s
        raise KeyError(url)

    def put_file(self, key: str, path: Path, sha256: str) -> list[ReplicaResult]:
        """Write the file to every store in parallel, verify each copy by reading it back; raise
        NotEnoughReplicas unless at least min_copies copies verified."""
        return self._put_all(key, lambda: open(path, "rb"), sha256, replace_invalid=False)

    def put_bytes(
        self, key: str, data: bytes, sha256: str, *, replace_invalid: bool = False
    ) -> list[ReplicaResult]:
        """Like put_file. `replace_invalid`: the caller knows that whatever else is stored under `key` is not valid
        (e.g. a manifest left by a write that never committed), so different bytes there are replaced."""
        return self._put_all(key, lambda: io.BytesIO(data), sha256, replace_invalid=replace_invalid)

    def _put_all(
        self, key: str, source: Callable[[], BinaryIO], sha256: str, *, replace_invalid: bool
    ) -> list[ReplicaResult]:
        """`source` opens a fresh stream of the bytes for each store."""

        def one(store: Store) -> ReplicaResult:
            try:
                with source() as f:
                    store.put(key, f, sha256, replace_corrupt=replace_invalid)
            except StorageError as exc:
                return ReplicaResult(store.url, classify(exc), str(exc))
            return verify_copy(store, key, sha256)

        results = list(self._pool.map(one, self.stores))
        if sum(r.ok for r in results) < self.min_copies:
            raise NotEnoughReplicas(key, results, self.min_copies)
        return results

    def verify_all(self, key: str, sha256: str) -> list[ReplicaResult]:
        return list(self._pool.map(lambda s: verify_copy(s, key, sha256), self.stores))

    def open_verified(
        self, key: str, sha256: str, on_bad: Callable[[ReplicaResult], None] | None = None
    ) -> tuple[Store, Iterator[bytes]]:
        """Find the first store whose copy hashes to `sha256` and return it with a chunk iterator over that copy.

        Bad copies are reported through `on_bad` and skipped. A copy of up to WHOLE_READ bytes is read once and the
        very bytes that hashed right are served; a larger one is hashed in full before streaming starts and again
        while streaming, so a copy changed in between is cut off rather than served as good."""
        results: list[ReplicaResult] = []
        for store in self.stores:
            r, data = read_small_copy(store, key, sha256)
            if r is None:
                r = verify_copy(store, key, sha256)
            if r.ok:
                return store, iter((data,)) if data is not None else _stream_checked(store, key, sha256)
            results.append(r)
            if on_bad is not None:
                on_bad(r)
        raise NoGoodCopy(key, results)

    def ping_all(self) -> dict[str, str]:
        def one(store: Store) -> str:
            try:
                store.ping()
                return OK
            except StoreUnavailable as exc:
                return f"{UNREACHABLE}: {exc.reason}"
            except StorageError as exc:
                return f"{UNREACHABLE}: {exc}"

        return dict(zip([s.url for s in self.stores], self._pool.map(one, self.stores), strict=True))

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _stream_checked(store: Store, key: str, sha256: str) -> Iterator[bytes]:
    h = hashlib.sha256()
    f: BinaryIO = store.get(key)
    try:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            yield chunk
    finally:
        f.close()
    if h.hexdigest() != sha256:
        raise ChecksumMismatch(key, sha256, h.hexdigest(), store.url)
