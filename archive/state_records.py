"""State that is not a file version — locks, withdrawals, edits of a record's details, legal holds, retention
confirmations, corrections (archive/corrections.py) and the rows of signing chains (archive/chains.py) — written to every replica as immutable JSON records, the way manifests are (archive/manifests.py), so
`hoso catalog rebuild` restores it from one replica: a finished year stays locked, a held record stays held.

Each change is one object `records/<UTC time>-<random>.json`; replaying them in key order gives the state. Like a
manifest, a record is written inside the transaction that makes the change, before it commits, and tracked in the
catalog so fixity checks and repairs its copies.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from storage import NotEnoughReplicas, ReplicaSet

from .db import utcnow
from .errors import StorageDown
from .stored_objects import track_object

PREFIX = "records/"
FORMAT = "hoso-record/1"
REPLICAS_KEY = "hoso.replicas"  # the composition root puts the ReplicaSet in every session's info
KINDS = ("lock", "withdrawal", "edit", "hold", "retention_confirmation", "correction", "chain")


def write_record(session: Session, kind: str, body: dict[str, Any]) -> str:
    """Write one record to every replica and track it; returns its key. The caller's transaction commits the change."""
    assert kind in KINDS, kind
    replicas: ReplicaSet | None = session.info.get(REPLICAS_KEY)
    if replicas is None:
        raise RuntimeError("session without replicas: build the archive with hoso.bootstrap.build_archive")
    now = utcnow()
    key = f"{PREFIX}{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
    record = {"format": FORMAT, "kind": kind, "at": now.isoformat(), **body}
    data = json.dumps(record, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    try:
        results = replicas.put_bytes(key, data, sha)
    except NotEnoughReplicas:
        raise StorageDown(
            "Không ghi được bản ghi trạng thái vào đủ bản sao; thay đổi chưa được lưu, vui lòng thử lại sau",
            "Could not write the state record to enough replicas; nothing was changed, please try again later",
        ) from None
    track_object(session, key, sha, len(data), "record", results)
    return key


def username(user: Any) -> str | None:
    return user.username if user is not None else None
