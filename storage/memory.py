"""In-memory store for unit tests (same contract as the real backends).

Repairing a corrupt copy (`replace_corrupt=True`) is allowed under retention/legal hold, and keeps them: the new
bytes are verified to be exactly the ones the lock protects. (S3 Object Lock behaves the same way on a versioned
bucket: the repair is a new version, the damaged locked version stays.)"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from ._io import read_source
from .base import ObjectInfo, as_utc, check_key
from .errors import ChecksumMismatch, ObjectConflict, ObjectNotFound, RetentionError, StoreUnavailable


class MemoryStore:
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._objects: dict[str, bytes] = {}
        self._sha: dict[str, str] = {}
        self._retain: dict[str, datetime] = {}
        self._hold: dict[str, bool] = {}
        self._written: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.available = True  # tests flip this to simulate an outage

    def _check(self) -> None:
        if not self.available:
            raise StoreUnavailable(self.url, "store is down")

    @property
    def supports_object_lock(self) -> bool:
        return True

    def put(self, key: str, stream: BinaryIO, sha256: str, *, replace_corrupt: bool = False) -> ObjectInfo:
        check_key(key)
        self._check()
        data = read_source(stream, -1, key)
        found = hashlib.sha256(data).hexdigest()
        if found != sha256:
            raise ChecksumMismatch(key, sha256, found, self.url)
        with self._lock:
            old = self._objects.get(key)
            if old is not None:
                if hashlib.sha256(old).hexdigest() == sha256:
                    return self._info(key)
                if not replace_corrupt:
                    raise ObjectConflict(key, self.url)
            self._objects[key] = data
            self._sha[key] = sha256
            self._written[key] = datetime.now(UTC)
        return self._info(key)

    def _locked(self, key: str) -> bool:
        until = self._retain.get(key)
        return self._hold.get(key, False) or (until is not None and until > datetime.now(until.tzinfo))

    def _info(self, key: str) -> ObjectInfo:
        return ObjectInfo(
            key,
            len(self._objects[key]),
            self._sha.get(key),
            self._retain.get(key),
            self._hold.get(key, False),
            self._written.get(key),
        )

    def get(self, key: str) -> BinaryIO:
        check_key(key)
        self._check()
        try:
            return io.BytesIO(self._objects[key])
        except KeyError:
            raise ObjectNotFound(key, self.url) from None

    def head(self, key: str) -> ObjectInfo:
        check_key(key)
        self._check()
        if key not in self._objects:
            raise ObjectNotFound(key, self.url)
        return self._info(key)

    def delete(self, key: str) -> None:
        check_key(key)
        self._check()
        with self._lock:
            if key not in self._objects:
                raise ObjectNotFound(key, self.url)
            if self._locked(key):
                raise RetentionError(f"{key} is under retention or legal hold")
            del self._objects[key]
            self._sha.pop(key, None)
            self._written.pop(key, None)

    def list(self, prefix: str = "") -> Iterator[str]:
        self._check()
        return iter(sorted(k for k in list(self._objects) if k.startswith(prefix)))

    def ping(self) -> None:
        self._check()

    def set_retention(self, key: str, until: datetime) -> None:
        self.head(key)
        until = as_utc(until)
        old = self._retain.get(key)
        if old is not None and until < old:
            raise RetentionError(
                f"refusing to shorten retention of {key} from {old.isoformat()} to {until.isoformat()}"
            )
        self._retain[key] = until

    def set_legal_hold(self, key: str, on: bool) -> None:
        self.head(key)
        self._hold[key] = on

    # test helper: damage bytes behind the store's back
    def corrupt(self, key: str, data: bytes) -> None:
        self._objects[key] = data
