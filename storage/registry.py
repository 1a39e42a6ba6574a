"""Backends chosen by URL scheme: adding a backend is one module and one line in BACKENDS."""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from .base import Store
from .errors import StorageError, UnknownScheme

BACKENDS: dict[str, str] = {
    "memory": "storage.memory:MemoryStore",
    "file": "storage.folder:FolderStore",
    "s3": "storage.s3:S3Store",
}

_memory_stores: dict[str, Store] = {}


def open_store(url: str) -> Store:
    try:
        # parsed once here, so that no backend's own urlsplit can raise a bare ValueError ("Invalid IPv6 URL" …)
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        raise StorageError(f"not a valid store URL: {url!r} ({exc})") from None
    target = BACKENDS.get(scheme)
    if target is None:
        raise UnknownScheme(f"no storage backend for {url!r} (known: {', '.join(sorted(BACKENDS))})")
    if scheme == "memory":
        # memory:// URLs name a process-wide store so two openings see the same bytes
        if url not in _memory_stores:
            _memory_stores[url] = _load(target)(url)
        return _memory_stores[url]
    return _load(target)(url)


def _load(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
