"""The catalog's record of objects that must exist in every replica (content, manifests, exports, state records) and
of each copy's state, which fixity then keeps checking."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import ReplicaResult

from .db import utcnow
from .models import ReplicaCopy, StoredObject


def track_object(
    session: Session,
    key: str,
    sha256: str,
    size: int,
    kind: str,
    results: Sequence[ReplicaResult],
    *,
    new: bool = False,
) -> StoredObject:
    """Record an object that must be in every replica, and the state of each copy just written. `new`: the caller
    knows no row can hold this key yet (the first manifest of a document created in this transaction)."""
    obj = None if new else session.scalar(select(StoredObject).where(StoredObject.key == key))
    if obj is None:
        # an empty list, not an unloaded one: the copies of an object just created are known without a SELECT
        obj = StoredObject(key=key, sha256=sha256, size=size, kind=kind, created_at=utcnow(), copies=[])
        session.add(obj)
        session.flush()
    now = utcnow()
    by_url = {c.store_url: c for c in obj.copies}
    for r in results:
        copy = by_url.get(r.store)
        if copy is None:
            copy = ReplicaCopy(object=obj, store_url=r.store)
            session.add(copy)
        copy.state = r.state
        copy.detail = r.detail[:1000]
        if r.ok:
            copy.verified_at = now
            copy.checked_at = now
    return obj
