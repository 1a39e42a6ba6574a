"""storage/ — bytes, keys and checksums in replicated stores. Imports nothing from the rest of hoso."""

from .base import ObjectInfo, Store, content_key, sha256_stream
from .errors import (
    ChecksumMismatch,
    ObjectConflict,
    ObjectNotFound,
    RetentionError,
    SourceReadError,
    StorageError,
    StoreUnavailable,
    UnknownScheme,
)
from .registry import open_store
from .replicas import NoGoodCopy, NotEnoughReplicas, ReplicaResult, ReplicaSet, verify_copy

__all__ = [
    "ChecksumMismatch",
    "NoGoodCopy",
    "NotEnoughReplicas",
    "ObjectConflict",
    "ObjectInfo",
    "ObjectNotFound",
    "ReplicaResult",
    "ReplicaSet",
    "RetentionError",
    "SourceReadError",
    "StorageError",
    "Store",
    "StoreUnavailable",
    "UnknownScheme",
    "content_key",
    "open_store",
    "sha256_stream",
    "verify_copy",
]
