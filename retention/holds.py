"""Legal holds (inspection, complaint) and the Object Lock state of every copy.

A hold is catalog data (placed / released, each an event) that blocks disposal through rules.decide. On stores with
Object Lock (`store.supports_object_lock`), storage follows the catalog:
- each copy's retention date follows the schedule (rules.Decision.lock_until), and only ever goes UP: we read the
  current date and ask for the later of the two (the store refuses a shorter date anyway; we never try);
- each copy's legal hold follows ours: on while any active hold covers the bytes (content shared by two documents
  stays held while either is held).
Placing or releasing a hold applies it at once where it can; `sync_object_locks` (a daily job) applies everything
else and repairs what a store that was down missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from archive.context import Archive
from archive.db import utcnow
from archive.documents import get_document
from archive.errors import Conflict, InvalidInput, NotFound
from archive.events import record_event
from archive.manifests import manifest_key
from archive.models import Document, User
from archive.state_records import write_record
from storage import StorageError, Store, content_key

from . import clock
from .models import HOLD_REASONS, LegalHold
from .schedules import FACTS_CHUNK, decide_documents, load_schedules, require_manager


@dataclass(frozen=True)
class HoldView:
    id: int
    document_id: str
    reason: str
    reference: str
    note: str
    placed_by: str | None
    placed_at: str
    released_by: str | None
    released_at: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True)
class LockOutcome:
    store: str
    key: str
    action: str  # retention / hold_on / hold_off
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class HoldResult:
    hold: HoldView
    stores: tuple[LockOutcome, ...]


@dataclass(frozen=True)
class LockSyncReport:
    objects: int
    retention_set: int
    holds_on: int
    holds_off: int
    stores_skipped: tuple[str, ...]  # no Object Lock (folders) or could not be asked
    errors: tuple[LockOutcome, ...]


def hold_view(h: LegalHold) -> HoldView:
    return HoldView(
        h.id,
        h.document_id,
        h.reason,
        h.reference,
        h.note,
        h.placed_by.username if h.placed_by else None,
        h.placed_at.isoformat(),
        h.released_by.username if h.released_by else None,
        h.released_at.isoformat() if h.released_at else None,
    )


def list_holds(
    session: Session, *, document_id: str | None = None, active_only: bool = True
) -> list[HoldView]:
    stmt = select(LegalHold).order_by(LegalHold.id)
    if document_id:
        stmt = stmt.where(LegalHold.document_id == document_id)
    if active_only:
        stmt = stmt.where(LegalHold.released_at.is_(None))
    return [hold_view(h) for h in session.scalars(stmt)]


def place_hold(
    archive: Archive, *, document_id: str, reason: str, reference: str, user: User, note: str = ""
) -> HoldResult:
    if reason not in HOLD_REASONS:
        raise InvalidInput(
            f"Lý do phong tỏa không hợp lệ: {reason} ({', '.join(HOLD_REASONS)})",
            f"Unknown hold reason {reason!r} ({', '.join(HOLD_REASONS)})",
            code="bad_hold_reason",
        )
    if not reference.strip():
        raise InvalidInput(
            "Cần số quyết định thanh tra / hồ sơ khiếu nại",
            "A reference (inspection decision, complaint file) is required",
            code="reference_required",
        )
    with archive.sessions() as session, session.begin():
        doc = get_document(session, document_id)
        require_manager(session, user, doc.school)
        if doc.status == "disposed":
            raise Conflict(
                "Hồ sơ đã bị tiêu hủy", "The document has already been disposed of", code="disposed"
            )
        hold = LegalHold(
            document=doc,
            reason=reason,
            reference=reference.strip(),
            note=note,
            placed_at=utcnow(),
            placed_by=session.merge(user),
        )
        session.add(hold)
        session.flush()
        write_record(session, "hold", {
            "op": "place", "hold": hold.id, "document_id": doc.id, "reason": reason, "reference": hold.reference,
            "note": note, "by": user.username,
        })  # fmt: skip
        record_event(
            session,
            "retention.hold_place",
            actor=user,
            document_id=doc.id,
            organisation_id=doc.school_id,
            detail={"hold": hold.id, "reason": reason, "reference": hold.reference},
        )
        view = hold_view(hold)
        keys = _document_keys(doc)
    outcomes = _apply_hold(archive, keys, on=True)
    return HoldResult(view, tuple(outcomes))


def release_hold(archive: Archive, *, hold_id: int, user: User, note: str = "") -> HoldResult:
    with archive.sessions() as session, session.begin():
        hold = session.get(LegalHold, hold_id)
        if hold is None:
            raise NotFound(
                f"Không có lệnh phong tỏa {hold_id}", f"No legal hold {hold_id}", code="hold_not_found"
            )
        require_manager(session, user, hold.document.school)
        if hold.released_at is not None:
            raise Conflict("Lệnh phong tỏa đã được gỡ", "The hold was already released", code="hold_released")
        hold.released_at, hold.released_by, hold.release_note = utcnow(), session.merge(user), note
        write_record(session, "hold", {
            "op": "release", "hold": hold.id, "document_id": hold.document_id, "note": note, "by": user.username,
        })  # fmt: skip
        record_event(
            session,
            "retention.hold_release",
            actor=user,
            document_id=hold.document_id,
            organisation_id=hold.document.school_id,
            detail={"hold": hold.id, "note": note},
        )
        session.flush()
        view = hold_view(hold)
        # keys still covered by another active hold (this document's other holds, or shared bytes) stay held
        still = _held_keys(session)
        keys = [k for k in _document_keys(hold.document) if k not in still]
    return HoldResult(view, tuple(_apply_hold(archive, keys, on=False)))


def _document_keys(doc: Document) -> list[str]:
    keys = []
    for v in doc.versions:
        keys.append(content_key(v.sha256))
        keys.append(manifest_key(doc.id, v.number))
    return list(dict.fromkeys(keys))


def _held_keys(session: Session) -> set[str]:
    held: set[str] = set()
    for hold in session.scalars(select(LegalHold).where(LegalHold.released_at.is_(None))):
        held.update(_document_keys(hold.document))
    return held


def _lock_stores(archive: Archive) -> tuple[list[Store], list[str]]:
    """Stores that enforce Object Lock, and the URLs of the others (folders: advisory only) or unreachable ones."""
    usable: list[Store] = []
    skipped: list[str] = []
    for store in archive.replicas.stores:
        try:
            lockable = store.supports_object_lock
        except StorageError:
            lockable = False
        if lockable:
            usable.append(store)
        else:
            skipped.append(store.url)
    return usable, skipped


def _apply_hold(archive: Archive, keys: Iterable[str], *, on: bool) -> list[LockOutcome]:
    out = []
    stores, _ = _lock_stores(archive)
    for store in stores:
        for key in keys:
            try:
                store.set_legal_hold(key, on)
                out.append(LockOutcome(store.url, key, "hold_on" if on else "hold_off", True))
            except StorageError as exc:
                out.append(LockOutcome(store.url, key, "hold_on" if on else "hold_off", False, str(exc)))
    return out


def sync_object_locks(
    archive: Archive, today: date | None = None, now: datetime | None = None
) -> LockSyncReport:
    """Bring every copy's Object Lock retention and legal hold in line with the catalog (job function)."""
    today = today or clock.today()
    now = now or utcnow()
    targets: dict[str, tuple[datetime, timedelta, bool]] = {}
    with archive.sessions() as session:
        schedules = load_schedules(session)
        docs = session.scalars(
            select(Document)
            .where(Document.status != "disposed")
            .options(joinedload(Document.school), selectinload(Document.versions))
            .execution_options(yield_per=FACTS_CHUNK)  # a province's documents are streamed, not held at once
        )
        for doc, d in decide_documents(session, docs, today, schedules):
            until, slack, held = d.lock_until(now), d.lock_slack(), bool(d.holds)
            for key in _document_keys(doc):
                if key in targets:  # shared bytes: the longest retention, held if any holder is held
                    u, s, h = targets[key]
                    until, slack, held = max(u, until), min(s, slack), h or held
                targets[key] = (until, slack, held)
    stores, skipped = _lock_stores(archive)
    errors: list[LockOutcome] = []
    counts = {"retention": 0, "hold_on": 0, "hold_off": 0}
    for store in stores:
        for key, (until, slack, held) in targets.items():
            action = "head"
            try:
                info = store.head(key)
                current = info.retain_until
                # a date already past needs no lock (disposal decides now), and S3 refuses one (AWS and Ceph RGW
                # answer InvalidArgument; moto took it silently, which hid the error on every overdue record)
                if until > now and (current is None or until - current > slack):
                    action = "retention"
                    store.set_retention(key, max(until, current) if current else until)
                    counts["retention"] += 1
                if info.legal_hold != held:
                    action = "hold_on" if held else "hold_off"
                    store.set_legal_hold(key, held)
                    counts[action] += 1
            except StorageError as exc:
                errors.append(LockOutcome(store.url, key, action, False, str(exc)))
    return LockSyncReport(
        len(targets),
        counts["retention"],
        counts["hold_on"],
        counts["hold_off"],
        tuple(skipped),
        tuple(errors),
    )
