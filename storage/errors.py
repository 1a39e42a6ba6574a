"""The storage exception hierarchy. No vendor exception (botocore, OSError) leaves this package.

StorageError
 ├── ObjectNotFound        the key is not in the store
 ├── ChecksumMismatch      bytes do not hash to the digest they must have (key, expected, found)
 ├── ObjectConflict        the key already holds different, intact bytes; we never overwrite them
 ├── StoreUnavailable      the store could not be reached or refused to work (network, permissions, disk)
 ├── RetentionError        a retention/legal-hold request we refuse (shortening a date) or the store cannot honour
 └── UnknownScheme         no backend is registered for a URL scheme
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
            f"checksum mismatch for {key!r}" + (f" in {store}" if store else "") + f": expected {expected}, found {found}"
        )
        self.key = key
        self.expected = expected
        self.found = found
        self.store = store


class ObjectConflict(StorageError):
    def __init__(self, key: str, store: str = "") -> None:
        super().__init__(f"object {key!r} already exists with different content" + (f" in {store}" if store else ""))
        self.key = key
        self.store = store


class StoreUnavailable(StorageError):
    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"store {store} unavailable: {reason}")
        self.store = store
        self.reason = reason


class RetentionError(StorageError):
    pass


class UnknownScheme(StorageError):
    pass
