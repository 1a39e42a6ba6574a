"""Recording events: append-only and hash-chained (each event's hash covers the previous one's)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .db import lock_for_write, utcnow
from .models import ChainHead, Event, User

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode()


def event_payload(ev: Event) -> dict[str, Any]:
    occurred: datetime = ev.occurred_at
    return {
        "id": ev.id,
        "occurred_at": occurred.isoformat(timespec="microseconds"),
        "actor_id": ev.actor_id,
        "actor": ev.actor,
        "action": ev.action,
        "document_id": ev.document_id,
        "version_id": ev.version_id,
        "organisation_id": ev.organisation_id,
        "outcome": ev.outcome,
        "detail": ev.detail or {},
    }


def compute_hash(prev_hash: str, ev: Event) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event_payload(ev))).hexdigest()


def record_event(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    actor_name: str | None = None,
    document_id: str | None = None,
    version_id: int | None = None,
    organisation_id: int | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> Event:
    """Append an event in the caller's transaction (it commits or rolls back with the work it records).

    The next id and previous hash come from the chain head, read under a lock held until the caller's transaction
    ends, so two writers never take the same id (SQLite ignores FOR UPDATE: lock_for_write takes its write lock).
    An event that only records a read (a download, a validation) has no work to share a transaction with: it goes
    through archive/access_events.py, which appends many under one lock and one commit."""
    values = event_values(
        action, actor=actor, actor_name=actor_name, document_id=document_id, version_id=version_id,
        organisation_id=organisation_id, outcome=outcome, detail=detail,
    )  # fmt: skip
    return append_events(session, [values])[0]


def event_values(
    action: str,
    *,
    actor: User | None = None,
    actor_name: str | None = None,
    document_id: str | None = None,
    version_id: int | None = None,
    organisation_id: int | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event's own columns, before it has a place in the chain (id, time, hashes)."""
    return {
        "actor_id": actor.id if actor else None,
        "actor": actor.username if actor else (actor_name or "system"),
        "action": action,
        "document_id": document_id,
        "version_id": version_id,
        "organisation_id": organisation_id,
        "outcome": outcome,
        "detail": json.loads(canonical(detail or {})),
    }


def append_events(session: Session, items: list[dict[str, Any]]) -> list[Event]:
    """Append events (from event_values) in order under ONE lock of the chain head, held until the caller's
    transaction ends; one flush for all of them."""
    head = _locked_head(session)
    last_id, last_hash = head.last_event_id or 0, head.last_hash
    events = []
    for values in items:
        # the time is taken under the lock, so the chain's order is also the order of occurred_at
        ev = Event(id=last_id + 1, occurred_at=utcnow(), prev_hash=last_hash, hash="", **values)
        ev.hash = compute_hash(last_hash, ev)
        last_id, last_hash = ev.id, ev.hash
        events.append(ev)
    session.add_all(events)
    head.last_event_id = last_id
    head.last_hash = last_hash
    session.flush()
    return events


def _locked_head(session: Session) -> ChainHead:
    lock_for_write(session)  # SQLite; PostgreSQL locks the row itself below
    # populate_existing: a session that loaded the head in an earlier transaction (expire_on_commit is off) must see
    # the head as it is now, not as it was then
    query = (
        select(ChainHead).where(ChainHead.id == 1).with_for_update().execution_options(populate_existing=True)
    )
    head = session.execute(query).scalar_one_or_none()
    if head is None:
        # the first event ever: two writers may both find no head; exactly one row is created, both then lock it
        dialect = session.get_bind().dialect.name
        values = {"id": 1, "last_event_id": None, "last_hash": GENESIS}
        if dialect == "postgresql":
            session.execute(pg_insert(ChainHead).values(**values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite_insert(ChainHead).values(**values).on_conflict_do_nothing())
        else:
            session.add(ChainHead(**values))
            session.flush()
        head = session.execute(query).scalar_one()
    return head
