"""The storage exception hierarchy. No vendor exception (botocore, OSError) leaves this package.

StorageError
 ├── ObjectNotFound        the key is not in the store
 ├── ChecksumMismatch      bytes do not hash to the digest they must have (key, expected, found)
 ├── ObjectConflict        the key already holds different, intact bytes; we never overwrite them
 ├── StoreUnavailable      the store could not be reached or refused to work (network, permissions, disk)
 ├── RetentionError        a retention/legal-hold request we refuse (shortening a date), the store cannot honour,
 │                         or a delete refused because the object is locked
 ├── SourceReadError       the stream handed to put() failed while being read (the caller's side, not the store's);
 │                         nothing was kept
 └── UnknownScheme         no backend is registered for a URL scheme

Invalid keys (absolute, '..', empty segments) raise plain StorageError.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by storage/."""


class ObjectNotFound(StorageError):
    def __init__(self, key: str, store: str = "") -> None:
        super().__init__(f"object {key!r} not found" + (f" in {store}" if store else ""))
        self.key = key
        self.store = store


class ChecksumMismatch(StorageError):
    def __init__(self, key: str, expected: str, found: str, store: str = "") -> None:
        super().__init__(
            f"checksum mismatch for {key!r}"
            + (f" in {store}" if store else "")
            + f": expected {expected}, found {found}"
        )
        self.key = key
        self.expected = expected
        self.found = found
        self.store = store


class ObjectConflict(StorageError):
    def __init__(self, key: str, store: str = "") -> None:
        super().__init__(
            f"object {key!r} already exists with different content" + (f" in {store}" if store else "")
        )
        self.key = key
        self.store = store


class StoreUnavailable(StorageError):
    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"store {store} unavailable: {reason}")
        self.store = store
        self.reason = reason


class RetentionError(StorageError):
    pass


class SourceReadError(StorageError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"could not read the data to store under {key!r}: {reason}")
        self.key = key
        self.reason = reason


class UnknownScheme(StorageError):
    pass
