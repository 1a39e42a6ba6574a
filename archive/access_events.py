"""Access events (a download, a validation): appended to the one audit chain by group commit.

An event that records work (an upload, a signature) shares the work's transaction (events.record_event). One that
records a read has no work to share a transaction with, yet appended like that, every read held the chain head's
lock until its own commit: under 50 concurrent downloads they all queued on that lock, one commit (one WAL flush)
each. Here the reads of one process that wait at the same moment are appended under ONE head lock and ONE commit.

Group commit without a thread of its own: the first caller to arrive becomes the leader and writes everything queued
at that moment (itself included); callers arriving meanwhile queue up. When its batch has committed, the leader
answers that batch and hands the lead to the first caller still queued, which writes the next batch. So a batch
forms while the previous one commits, and no request waits for more than the batch before its own plus its own.

Guarantees kept: `record_access` returns only once the caller's event has committed, so an access is never served
unrecorded; a failed commit fails every request of that batch (AccessNotRecorded, 503) and writes none of its
events. Nothing waits without end: a batch waits at most LOCK_WAIT for the chain head (PostgreSQL's lock_timeout;
SQLite's busy timeout), and a caller still queued after QUEUE_WAIT leaves the queue and is refused (503) rather than
hang behind a commit that does not end. Several processes (workers, hosts) still serialise on the chain head, so the
chain stays one linear hash chain (`hoso audit verify`); on SQLite the head lock is the database's write lock
(db.lock_for_write).
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from .errors import ArchiveError
from .events import append_events, event_values
from .models import User

# one INSERT of this many rows stays small; more than this many requests rarely wait at once (the server's threads)
MAX_BATCH = 200
LOCK_WAIT = "15s"  # a batch's wait for the chain head's lock, which another process's transaction may hold
QUEUE_WAIT = 30.0  # seconds a caller waits in the queue for a batch of its own before it is refused


class AccessNotRecorded(ArchiveError):
    """The access could not be written to the audit trail: it is refused rather than served unrecorded."""

    status = 503
    code = "access_not_recorded"


@dataclass(eq=False)  # identity: two equal events of two requests are still two waiters
class _Waiting:
    values: dict[str, Any]
    wake: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued → lead (writes the next batch) → done; or queued → done
    event_id: int | None = None
    error: BaseException | None = None


class AccessRecorder:
    """One per engine and process (recorder_for)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._leading = False
        self.pid = os.getpid()
        self.batches = 0  # commits so far: what the group-commit test counts

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def record(self, values: dict[str, Any]) -> int:
        """Append one event (event_values) and return its id once it has committed."""
        me = _Waiting(values)
        with self._lock:
            self._queue.append(me)
            lead = not self._leading
            self._leading = True
        if not lead and not me.wake.wait(QUEUE_WAIT):
            with self._lock:
                # still queued: leave (nothing of it written). Otherwise it was handed the lead, or its batch is being
                # written, and that batch's wait for the lock is bounded by LOCK_WAIT: wait for it
                given_up = me.state == "queued" and me in self._queue
                if given_up:
                    self._queue.remove(me)
            if given_up:
                raise _not_recorded(TimeoutError(f"no batch of its own within {QUEUE_WAIT:g} s"))
            me.wake.wait()
        if me.state == "lead" or lead:
            self._write_batch()
        assert me.state == "done"
        if me.error is not None:
            raise _not_recorded(me.error)
        assert me.event_id is not None
        return me.event_id

    def _write_batch(self) -> None:
        with self._lock:
            # the queue's head is always the leader's own event: a cut at MAX_BATCH keeps it in this batch
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            with self._sessions() as session, session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                events = append_events(session, [w.values for w in batch])
                ids = [ev.id for ev in events]
            for w, event_id in zip(batch, ids, strict=True):
                w.event_id = event_id
        except BaseException as exc:  # noqa: BLE001 - every waiter of the batch must learn of it, whatever it is
            for w in batch:
                w.error = exc
        with self._lock:
            self.batches += 1
            for w in batch:
                w.state = "done"
            successor = self._queue[0] if self._queue else None
            if successor is not None:
                successor.state = "lead"
            else:
                self._leading = False
        for w in batch:
            w.wake.set()
        if successor is not None:
            successor.wake.set()


def _not_recorded(cause: BaseException) -> AccessNotRecorded:
    err = AccessNotRecorded(
        "Không ghi được nhật ký truy cập; yêu cầu bị từ chối để không có truy cập nào không được ghi lại",
        "The access could not be recorded in the audit trail; it is refused rather than served unrecorded",
    )
    err.__cause__ = cause
    return err


_recorders: weakref.WeakKeyDictionary[Engine, AccessRecorder] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def recorder_for(engine: Engine) -> AccessRecorder:
    with _registry_lock:
        recorder = _recorders.get(engine)
        # a forked worker must not inherit a lock or a queue that a thread of its parent held
        if recorder is None or recorder.pid != os.getpid():
            recorder = _recorders[engine] = AccessRecorder(engine)
        return recorder


def record_access(
    bind: Engine | Session,
    action: str,
    *,
    actor: User | None = None,
    document_id: str | None = None,
    version_id: int | None = None,
    organisation_id: int | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> int:
    """Append an access event in a transaction of its own, shared with the other accesses waiting at the same
    moment; returns the event's id once committed, or raises AccessNotRecorded (nothing of it written).

    Never call it inside a transaction that has written (on SQLite that transaction holds the write lock the
    append waits for): record after the commit, as after_commit does."""
    engine = bind if isinstance(bind, Engine) else bind.get_bind()
    assert isinstance(engine, Engine)
    values = event_values(
        action, actor=actor, document_id=document_id, version_id=version_id, organisation_id=organisation_id,
        outcome=outcome, detail=detail,
    )  # fmt: skip
    return recorder_for(engine).record(values)


def after_commit(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    document_id: str | None = None,
    organisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """record_access once `session`'s current transaction has committed (not at all if it rolls back); a failure
    raises from the commit, so the caller's request fails as if the event had been part of its transaction."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    # read now: after the commit the actor may be expired or detached
    values = event_values(
        action, actor=actor, document_id=document_id, organisation_id=organisation_id, detail=detail
    )

    def _record(_session: Session) -> None:
        recorder_for(engine).record(values)

    event.listen(session, "after_commit", _record, once=True)
