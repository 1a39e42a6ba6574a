"""A replica set: the same object in every configured store, each copy verified by hash on our side.

Stores' own checksum claims are never trusted: after a write, each copy is read back and hashed here.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .base import CHUNK, Store, sha256_of_object
from .errors import ChecksumMismatch, ObjectNotFound, StorageError, StoreUnavailable
from .folder import FolderStore, StagedWrite

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


class PendingCopies:
    """Copies of one object being written (ReplicaSet.stage_file). Either `finish()` puts them in place, or
    `discard()` drops them; a second call of either does nothing."""

    def __init__(
        self,
        replicas: ReplicaSet,
        key: str,
        source: Callable[[], BinaryIO],
        sha256: str,
        replace_invalid: bool,
        futures: list[Future[StagedWrite | None]],
    ) -> None:
        self._replicas, self._key, self._source, self._sha256 = replicas, key, source, sha256
        self._replace_invalid = replace_invalid
        self._futures: list[Future[StagedWrite | None]] | None = futures
        self._settled: list[StagedWrite | StorageError | None] | None = None

    def _settle(self) -> list[StagedWrite | StorageError | None]:
        """Each store's staged write, or why it could not be staged; waits for every store, so that nothing is left
        behind when a store's staging failed unexpectedly."""
        if self._settled is None:
            settled: list[StagedWrite | StorageError | None] = []
            unexpected: BaseException | None = None
            for future in self._futures or []:
                try:
                    settled.append(future.result())
                except StorageError as exc:
                    settled.append(exc)
                except BaseException as exc:  # a bug: the other stores' temp files are still removed
                    settled.append(None)
                    unexpected = unexpected or exc
            self._settled = settled
            if unexpected is not None:
                self.discard()
                raise unexpected
        return self._settled

    def finish(self) -> list[ReplicaResult]:
        """Put every staged copy in place (a store that stages nothing is written now) and read each back;
        NotEnoughReplicas unless at least min_copies copies verified."""
        if self._futures is None:
            raise RuntimeError("these copies were finished or discarded already")
        settled = self._settle()
        self._futures = None
        key, sha256 = self._key, self._sha256

        def one(pair: tuple[Store, StagedWrite | StorageError | None]) -> ReplicaResult:
            store, staged = pair
            try:
                if isinstance(staged, StorageError):
                    raise staged
                if staged is None:
                    with self._source() as f:
                        store.put(key, f, sha256, replace_corrupt=self._replace_invalid)
                else:
                    staged.commit()
            except StorageError as exc:
                return ReplicaResult(store.url, classify(exc), str(exc))
            return verify_copy(store, key, sha256)

        replicas = self._replicas
        results = list(replicas._pool.map(one, zip(replicas.stores, settled, strict=True)))
        if sum(r.ok for r in results) < replicas.min_copies:
            raise NotEnoughReplicas(key, results, replicas.min_copies)
        return results

    def discard(self) -> None:
        if self._futures is None:
            return
        settled = self._settled if self._settled is not None else self._settle()
        self._futures = None
        for staged in settled:
            if isinstance(staged, StagedWrite):
                staged.discard()


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
        return self.stage_file(key, path, sha256).finish()

    def stage_file(self, key: str, path: Path, sha256: str) -> PendingCopies:
        """put_file in two steps, so that a caller can have the copies written while it still decides whether the
        file may be stored at all: each folder store starts writing its verified, fsynced temp file now, in the
        background, with nothing under `key`; the caller then calls `finish()` or `discard()`."""
        return self._stage_all(key, lambda: open(path, "rb"), sha256, replace_invalid=False)

    def put_bytes(
        self, key: str, data: bytes, sha256: str, *, replace_invalid: bool = False
    ) -> list[ReplicaResult]:
        """Like put_file. `replace_invalid`: the caller knows that whatever else is stored under `key` is not valid
        (e.g. a manifest left by a write that never committed), so different bytes there are replaced."""
        return self._stage_all(
            key, lambda: io.BytesIO(data), sha256, replace_invalid=replace_invalid
        ).finish()

    def _stage_all(
        self, key: str, source: Callable[[], BinaryIO], sha256: str, *, replace_invalid: bool
    ) -> PendingCopies:
        """`source` opens a fresh stream of the bytes for each store."""

        def stage(store: Store) -> StagedWrite | None:
            if not isinstance(store, FolderStore):
                return (
                    None  # a network store is written whole by finish(): no temp file of ours to stage in it
                )
            with source() as f:
                return store.stage(key, f, sha256, replace_corrupt=replace_invalid)

        futures = [self._pool.submit(stage, store) for store in self.stores]
        return PendingCopies(self, key, source, sha256, replace_invalid, futures)

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
