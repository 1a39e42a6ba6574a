"""Repair of one damaged copy, only ever from a copy whose full SHA-256 we computed ourselves.

The source copy is streamed into a private spool file while it is hashed, and the *spooled bytes* are what we write:
so the bytes written are exactly the bytes that matched the catalog digest (a source changing under us cannot slip
through). After the write the repaired copy is read back in full and hashed again: a store's own claim (its ETag,
its recorded checksum, "put succeeded") is never taken as proof.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from storage import ObjectConflict, ReplicaSet, StorageError, Store, verify_copy

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class RepairOutcome:
    store: str
    key: str
    repaired: bool
    source: str | None  # the store whose verified copy was written
    detail: str


def repair_copy(
    replicas: ReplicaSet,
    *,
    key: str,
    sha256: str,
    target: str,
    state: str,
    spool_dir: Path,
    skip: Iterable[str] = (),
    prefer: Iterable[str] = (),
) -> RepairOutcome:
    """Rewrite the copy of `key` in store `target` (found `state`: missing or corrupt) from an intact copy elsewhere.

    `skip`: stores known to be down; `prefer`: stores whose copy was just verified (tried first, still re-hashed)."""
    if state == "unreachable":
        # nothing can be written to a store we cannot reach; the next run checks it again
        return RepairOutcome(target, key, False, None, "store unreachable: checked again next run")
    try:
        target_store = replicas.store(target)
    except KeyError:
        return RepairOutcome(target, key, False, None, "store is no longer configured")
    skipped = set(skip) | {target}
    preferred = [u for u in prefer if u not in skipped]
    candidates = preferred + [
        s.url for s in replicas.stores if s.url not in skipped and s.url not in preferred
    ]
    tried: list[str] = []
    for url in candidates:
        spooled = spool_verified(replicas.store(url), key, sha256, spool_dir)
        if isinstance(spooled, str):
            tried.append(f"{url}: {spooled}")
            continue
        try:
            return _write_and_reverify(target_store, key, sha256, state, spooled, url)
        finally:
            spooled.unlink(missing_ok=True)
    why = "; ".join(tried) or "no other store is reachable"
    return RepairOutcome(target, key, False, None, f"no intact copy to repair from ({why})"[:1000])


def spool_verified(store: Store, key: str, sha256: str, spool_dir: Path) -> Path | str:
    """Copy `key` from `store` into a temp file while hashing it; the file if it matches `sha256`, else why not."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="repair-", dir=spool_dir)
    path = Path(name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, store.get(key) as src:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
    except StorageError as exc:
        path.unlink(missing_ok=True)
        return str(exc)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if h.hexdigest() != sha256:
        path.unlink(missing_ok=True)
        return f"corrupt (found {h.hexdigest()})"
    return path


def _write_and_reverify(
    target: Store, key: str, sha256: str, state: str, spooled: Path, source: str
) -> RepairOutcome:
    try:
        with open(spooled, "rb") as f:
            try:
                target.put(key, f, sha256, replace_corrupt=state == "corrupt")
            except ObjectConflict:
                # it was missing when checked, but damaged bytes appeared since: that is a corrupt copy now
                f.seek(0)
                target.put(key, f, sha256, replace_corrupt=True)
    except StorageError as exc:
        return RepairOutcome(target.url, key, False, source, f"write failed: {exc}"[:1000])
    check = verify_copy(target, key, sha256)
    if not check.ok:
        return RepairOutcome(
            target.url, key, False, source, f"re-verification failed: {check.state} {check.detail}"[:1000]
        )
    return RepairOutcome(target.url, key, True, source, f"rewritten from {source} and re-verified")
