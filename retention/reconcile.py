"""Reconcile: compare what each replica store holds under `content/` and `manifests/` with what the catalog knows.

The write path (archive/ingest.py) stores copies before the catalog commits, so a crash leaves orphan copies behind
(design convention 3). They are harmless — content is addressed by its SHA-256 and an orphan manifest is replaced by
the next write of that version — but an operator should see them. This job only REPORTS: it never deletes (deletion
belongs to disposal alone), and it is not a health check, so `hoso fixity reconcile` always exits 0.

Only `content/` and `manifests/` are listed: metadata exports (`exports/`, catalogued as kind `export`), audit anchors
(`audit/anchors/`, in the `audit_anchors` table) and the WORM canary's probes (`_canary/`) are tracked elsewhere, so
catalog objects outside the listed prefixes are not counted as missing either.

Catalog objects missing from a listing are only counted: the fixity run finds them too and repairs them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from archive.context import Archive
from archive.events import record_event
from archive.manifests import PREFIX as MANIFEST_PREFIX
from archive.models import StoredObject
from storage import StorageError, Store

from .models import DisposalKey

log = logging.getLogger("hoso.reconcile")

CONTENT_PREFIX = "content/"
PREFIXES = (CONTENT_PREFIX, MANIFEST_PREFIX)
# An ingest in flight has written its copies but not yet committed; an object younger than this is left alone so the
# report never names a write that is about to commit. Uploads take seconds, so an hour is ample.
GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Orphan:
    key: str
    size: int | None  # None when the object vanished or could not be read between listing and head
    modified_at: datetime | None  # None when the backend does not say when it was written (memory stores)
    age_seconds: float | None


@dataclass(frozen=True)
class StoreReconcile:
    store: str
    listed: int  # keys seen under the reconciled prefixes
    orphans: tuple[Orphan, ...]
    missing: int  # catalog objects under the reconciled prefixes this store does not hold
    young: (
        int  # unknown objects inside the grace period, not reported (an ingest may be about to commit them)
    )
    error: str | None = None  # the store could not be listed; nothing else about it is known

    @property
    def orphan_bytes(self) -> int:
        return sum(o.size or 0 for o in self.orphans)


@dataclass(frozen=True)
class ReconcileReport:
    started_at: datetime
    catalog_objects: int
    stores: tuple[StoreReconcile, ...]

    @property
    def orphans(self) -> int:
        return sum(len(s.orphans) for s in self.stores)

    @property
    def missing(self) -> int:
        return sum(s.missing for s in self.stores)

    def to_dict(self, *, keys: bool = True) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "catalog_objects": self.catalog_objects,
            "orphans": self.orphans,
            "missing": self.missing,
            "grace_seconds": GRACE.total_seconds(),
            "stores": [
                {
                    "store": s.store,
                    "listed": s.listed,
                    "orphans": len(s.orphans),
                    "orphan_bytes": s.orphan_bytes,
                    "missing": s.missing,
                    "young": s.young,
                    "error": s.error,
                    **(
                        {
                            "orphan_keys": [
                                {
                                    "key": o.key,
                                    "size": o.size,
                                    "modified_at": o.modified_at.isoformat() if o.modified_at else None,
                                    "age_seconds": o.age_seconds,
                                }
                                for o in s.orphans
                            ]
                        }
                        if keys
                        else {}
                    ),
                }
                for s in self.stores
            ],
        }


def reconcile(archive: Archive, *, now: datetime | None = None) -> ReconcileReport:
    """List every store under `content/` and `manifests/`, report unknown objects older than GRACE and count the
    catalog's objects each store lacks; record a `replica.reconcile` event with the summary."""
    started = now or datetime.now(UTC)
    # The catalog is read BEFORE the stores are listed: an object committed in between is then in the listing but not
    # in this snapshot, and it is young, so GRACE hides it; the other order would count it as missing instead.
    known, expected = _catalog_keys(archive)
    stores = tuple(_reconcile_store(store, known, expected, started) for store in _stores(archive))
    report = ReconcileReport(started_at=started, catalog_objects=len(expected), stores=stores)
    with archive.sessions() as session, session.begin():
        record_event(
            session,
            "replica.reconcile",
            actor_name="system",
            outcome="warning" if report.orphans or any(s.error for s in stores) else "ok",
            # the keys themselves go in the event only while few: the event is a summary, the report the detail
            detail=report.to_dict(keys=report.orphans <= 50),
        )
    for s in stores:
        if s.error:
            log.warning("reconcile: %s could not be listed: %s", s.store, s.error)
        elif s.orphans or s.missing:
            log.info("reconcile: %s: %d orphan(s), %d missing", s.store, len(s.orphans), s.missing)
    return report


def _stores(archive: Archive) -> list[Store]:
    seen: dict[str, Store] = {}
    for store in archive.replicas.stores:
        seen.setdefault(store.url, store)
    return list(seen.values())


def _catalog_keys(archive: Archive) -> tuple[set[str], set[str]]:
    """(keys the catalog knows, keys every store is expected to hold), both under the reconciled prefixes.

    Keys of an executed disposal whose deletion is still pending are known (not orphans): disposal removed their
    catalog rows first and will finish deleting them; they are expected nowhere any more."""
    with archive.sessions() as session:
        expected = {k for k in session.scalars(select(StoredObject.key)) if k.startswith(PREFIXES)}
        pending = set(session.scalars(select(DisposalKey.key).where(DisposalKey.state == "pending")))
    return expected | pending, expected


def _reconcile_store(store: Store, known: set[str], expected: set[str], now: datetime) -> StoreReconcile:
    try:
        listed = set(_list(store, PREFIXES))
    except StorageError as exc:
        return StoreReconcile(store.url, 0, (), 0, 0, error=str(exc))
    orphans: list[Orphan] = []
    young = 0
    for key in sorted(listed - known):
        size, modified = _head(store, key)
        age = (now - modified).total_seconds() if modified else None
        if age is not None and age < GRACE.total_seconds():
            young += 1
            continue
        orphans.append(Orphan(key, size, modified, age))
    return StoreReconcile(store.url, len(listed), tuple(orphans), len(expected - listed), young)


def _list(store: Store, prefixes: Iterable[str]) -> Iterable[str]:
    for prefix in prefixes:
        yield from store.list(prefix)


def _head(store: Store, key: str) -> tuple[int | None, datetime | None]:
    """Size and write time as the store reports them; an error means "unknown" here: this is a report."""
    try:
        info = store.head(key)
    except StorageError:
        return None, None
    return info.size, info.modified_at
