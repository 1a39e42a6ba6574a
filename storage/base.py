"""The one small storage interface every backend implements (modelled on warehouse's IFileStorage).

Keys are '/'-separated relative paths. Content keys are the content's SHA-256 (see `content_key`).
A backend verifies the SHA-256 of what it writes and never replaces intact bytes with different ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol, runtime_checkable

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None  # what the store recorded at write time (a claim, not proof)
    retain_until: datetime | None = None
    legal_hold: bool = False
    modified_at: datetime | None = (
        None  # when the store last wrote the object (to tell fresh orphans from old)
    )


@runtime_checkable
class Store(Protocol):
    url: str

    def put(self, key: str, stream: BinaryIO, sha256: str, *, replace_corrupt: bool = False) -> ObjectInfo:
        """Write `stream` under `key`; raise ChecksumMismatch (and keep nothing) if it does not hash to `sha256`.

        Same bytes already there: no-op. Different bytes there: ObjectConflict, unless `replace_corrupt` is set
        and the stored bytes do not hash to `sha256` (repair of a damaged copy)."""
        ...

    def get(self, key: str) -> BinaryIO:
        """Open the object for reading (caller closes). ObjectNotFound if absent."""
        ...

    def head(self, key: str) -> ObjectInfo: ...

    def delete(self, key: str) -> None:
        """Remove the object; ObjectNotFound if absent; RetentionError if locked."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store can be used now."""
        ...

    def set_retention(self, key: str, until: datetime) -> None:
        """Lock the object until `until`; never shortens an existing date (RetentionError)."""
        ...

    def set_legal_hold(self, key: str, on: bool) -> None: ...

    @property
    def supports_object_lock(self) -> bool: ...


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def sha256_of_object(store: Store, key: str) -> tuple[str, int]:
    with store.get(key) as f:
        return sha256_stream(f)


MAX_KEY_BYTES = 1024


def check_key(key: str) -> str:
    """Return `key` if it is a safe store key, else raise StorageError.

    Keys are '/'-separated relative paths: no leading '/', no empty, '.' or '..' segments, no backslash or NUL,
    at most 1024 bytes of UTF-8 (the S3 limit). Every backend applies the same rule so keys mean the same everywhere."""
    from .errors import StorageError

    if not isinstance(key, str) or not key:
        raise StorageError(f"invalid key {key!r}: empty")
    if key.startswith("/"):
        raise StorageError(f"invalid key {key!r}: absolute keys are not allowed")
    if "\\" in key or "\x00" in key:
        raise StorageError(f"invalid key {key!r}: backslash and NUL are not allowed")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise StorageError(f"invalid key {key!r}: empty, '.' or '..' path segment")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise StorageError(f"invalid key {key!r}: not valid UTF-8") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise StorageError(f"invalid key {key[:40]!r}...: longer than {MAX_KEY_BYTES} bytes")
    return key


def as_utc(when: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def content_key(sha256: str) -> str:
    return f"content/{sha256[:2]}/{sha256}"


def is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
