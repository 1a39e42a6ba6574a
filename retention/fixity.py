"""Fixity: are all copies of every stored object still there and still the bytes the catalog says?

Two kinds of check per copy (one ReplicaCopy row):
- light: `head()` — the copy exists, has the catalog size, and the store's recorded checksum (a claim) agrees.
  Anything odd, or a copy that was damaged before, is escalated to a full check on the spot.
- full: re-read every byte and compute SHA-256 ourselves. Only this sets `verified_at`.

Scheduling (pure functions at the top, unit-tested): every copy must be fully re-hashed at least every
`fixity_full_period_days`. A run every `fixity_light_interval_hours` takes an even share of all copies
(total / runs-per-period), least recently verified first, raised to cover every copy that is damaged or would be
overdue before the next run. So work is spread evenly, and a burst of ingests 90 days ago cannot make copies late.

Sharing a run between workers: the run is a `fixity_runs` row keyed by a slot (the interval number for scheduled runs),
so all workers firing the same job share one quota. Each worker reserves part of the quota, then claims that many
copies with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one writer and a plain select). The row locks are
held while the batch is checked and released by the commit that records the results, so no copy is checked twice.

Events: one `fixity.run` summary per worker pass, plus one event per change of a copy's state (`replica.damage`,
`replica.repair`), never one per healthy copy. A store that is down is one line in the summary, not a million events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.context import Archive
from archive.db import utcnow
from archive.events import record_event
from archive.models import Document, Organisation, ReplicaCopy, StoredObject, Version
from storage import ObjectNotFound, StorageError, Store

from .alerts import send_alert
from .errors import FixityRunUnavailable
from .integrity_models import FixityRun
from .repair import RepairOutcome, repair_copy

log = logging.getLogger("hoso.fixity")

CHUNK = (
    4 * 1024 * 1024
)  # large reads: fewer Python-level calls per byte; hashlib releases the GIL on each update
OK, MISSING, CORRUPT, UNREACHABLE, PENDING = "ok", "missing", "corrupt", "unreachable", "pending"
Kind = Literal["light", "full"]
ALERT_LINES = (
    200  # an e-mail listing a million copies of a dead disk helps nobody; the full list is in the report
)


# ---- scheduling math (pure) -----------------------------------------------------------------------------------------


def runs_per_period(period: timedelta, interval: timedelta) -> int:
    """How many runs fit in one full-verification period (at least one)."""
    return max(1, int(period / interval))


def overdue_cutoff(now: datetime, period: timedelta, interval: timedelta) -> datetime:
    """Copies last verified before this would pass the period before the *next* run, so this run must take them."""
    return now - period + interval


def slice_quota(total: int, must: int, damaged: int, period: timedelta, interval: timedelta) -> int:
    """Copies one full-fixity run takes: an even share of `total` plus the `damaged` copies (rechecked every run, so
    they must not eat the share of healthy ones), raised to `must` (damaged or about to be overdue).

    Damaged copies are claimed first, then least recently verified first, so the `must` copies are always covered."""
    if total <= 0:
        return 0
    even = math.ceil(total / runs_per_period(period, interval))
    return min(total, max(even + damaged, must))


def slot_name(kind: str, now: datetime, interval: timedelta) -> str:
    """Name of the scheduled run containing `now`: every worker firing within the same interval gets the same one."""
    number = int(now.timestamp() // interval.total_seconds())
    return f"{kind}:{int(interval.total_seconds())}:{number}"


# ---- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyTask:
    copy_id: int
    object_id: int
    key: str
    store_url: str
    sha256: str
    size: int
    state: str  # before this check


@dataclass(frozen=True)
class CheckResult:
    copy_id: int
    store: str
    key: str
    expected: str
    state: str
    found: str | None  # the SHA-256 we computed (full) or the store's claim / size (light), when known
    detail: str
    bytes_read: int
    attempts: int
    full: bool

    @property
    def ok(self) -> bool:
        return self.state == OK


@dataclass(frozen=True)
class DocumentRef:
    document_id: str
    version: int
    filename: str
    school: str


@dataclass(frozen=True)
class Damage:
    """One faulty copy: an entry of the "list of faulty files" (Thông tư 02/2019): file, medium (store) and folder (key)."""

    store: str
    key: str
    state: str
    expected: str
    found: str | None
    detail: str
    documents: tuple[DocumentRef, ...]
    repaired: bool
    repair_detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "key": self.key,
            "state": self.state,
            "expected": self.expected,
            "found": self.found,
            "detail": self.detail,
            "repaired": self.repaired,
            "repair_detail": self.repair_detail,
            "documents": [d.__dict__ for d in self.documents],
        }


@dataclass(frozen=True)
class FixityReport:
    run_id: int
    slot: str
    kind: str
    started_at: datetime
    finished_at: datetime
    copies_checked: int
    objects_checked: int
    bytes_checked: int
    seconds: float
    damage: tuple[Damage, ...]
    stores_down: tuple[str, ...]
    remaining_damage: int  # copies not "ok" in the catalog after this pass (this pass's and any other)
    checked_copy_ids: tuple[int, ...] = field(repr=False, default=())

    @property
    def throughput(self) -> float:
        """Bytes re-hashed per second of wall time."""
        return self.bytes_checked / self.seconds if self.seconds > 0 else 0.0

    @property
    def repaired(self) -> tuple[Damage, ...]:
        return tuple(d for d in self.damage if d.repaired)

    @property
    def unrepairable(self) -> tuple[Damage, ...]:
        return tuple(d for d in self.damage if not d.repaired)

    @property
    def clean(self) -> bool:
        return self.remaining_damage == 0 and not self.unrepairable

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "slot": self.slot,
            "kind": self.kind,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "copies_checked": self.copies_checked,
            "objects_checked": self.objects_checked,
            "bytes_checked": self.bytes_checked,
            "seconds": round(self.seconds, 3),
            "throughput_bytes_per_second": round(self.throughput),
            "damage_found": len(self.damage),
            "repaired": len(self.repaired),
            "unrepairable": [d.to_dict() for d in self.unrepairable],
            "repairs": [d.to_dict() for d in self.repaired],
            "stores_down": list(self.stores_down),
            "remaining_damage": self.remaining_damage,
            "clean": self.clean,
        }


# ---- checking one copy -------------------------------------------------------------------------------------------


def hash_copy(store: Store, key: str) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with store.get(key) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def full_once(store: Store, task: CopyTask) -> CheckResult:
    try:
        found, size = hash_copy(store, task.key)
    except ObjectNotFound as exc:
        return _result(task, MISSING, None, str(exc), 0, True)
    except StorageError as exc:
        return _result(task, UNREACHABLE, None, str(exc), 0, True)
    if found != task.sha256:
        why = f"expected {task.sha256} ({task.size} bytes), found {found} ({size} bytes)"
        return _result(task, CORRUPT, found, why, size, True)
    return _result(task, OK, found, "", size, True)


def light_once(store: Store, task: CopyTask) -> CheckResult:
    try:
        info = store.head(task.key)
    except ObjectNotFound as exc:
        return _result(task, MISSING, None, str(exc), 0, False)
    except StorageError as exc:
        return _result(task, UNREACHABLE, None, str(exc), 0, False)
    if info.size != task.size:
        return _result(task, CORRUPT, None, f"size {info.size}, catalog says {task.size}", 0, False)
    if info.sha256 is not None and info.sha256 != task.sha256:
        return _result(task, CORRUPT, info.sha256, "the store's recorded checksum differs", 0, False)
    return _result(task, OK, info.sha256, "", 0, False)


def check_copy(
    store: Store, task: CopyTask, *, full: bool, attempts: int, delay: float, sleep: Callable[[float], None]
) -> CheckResult:
    """Check one copy, retrying a bad result `attempts - 1` times before believing it (a network blip is not damage).

    A light check that finds anything odd, or a copy that was damaged before, is settled by a full re-hash."""
    result = _with_retries(lambda: (full_once if full else light_once)(store, task), attempts, delay, sleep)
    if not full and (not result.ok or task.state != OK) and result.state != UNREACHABLE:
        result = _with_retries(lambda: full_once(store, task), attempts, delay, sleep)
    return result


def _with_retries(
    once: Callable[[], CheckResult], attempts: int, delay: float, sleep: Callable[[float], None]
) -> CheckResult:
    result = once()
    tries = 1
    while not result.ok and tries < attempts:
        sleep(delay * tries)
        result = once()
        tries += 1
    return dataclasses.replace(result, attempts=tries)


def _result(task: CopyTask, state: str, found: str | None, detail: str, read: int, full: bool) -> CheckResult:
    return CheckResult(
        task.copy_id, task.store_url, task.key, task.sha256, state, found, detail, read, 1, full
    )


# ---- runs ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    kind: Kind
    scope: Literal["all", "slice"] = "all"
    slot: str | None = None
    batch_size: int = 100
    threads: int | None = None
    retry_delay: float = 0.5
    alert: bool = True


def light_run(archive: Archive, **kw: Any) -> FixityReport:
    """Light check of every copy (and a full re-hash of any copy that looks wrong); repairs what it can."""
    return run_fixity(archive, RunOptions(kind="light", **kw))


def full_run(archive: Archive, **kw: Any) -> FixityReport:
    """Full re-read and SHA-256 of every copy; repairs what it can."""
    return run_fixity(archive, RunOptions(kind="full", **kw))


def full_slice(archive: Archive, **kw: Any) -> FixityReport:
    """The scheduled share of full checks (see slice_quota); workers in the same interval share one run."""
    return run_fixity(archive, RunOptions(kind="full", scope="slice", **kw))


def run_fixity(archive: Archive, options: RunOptions, *, now: datetime | None = None) -> FixityReport:
    now = now or archive.now()  # the catalog's clock: what is due is the same on every worker's host
    settings = archive.settings
    period = timedelta(days=settings.fixity_full_period_days)
    interval = timedelta(hours=settings.fixity_light_interval_hours)
    slot = options.slot or f"manual:{options.kind}:{uuid.uuid4().hex}"

    def quota(session: Session) -> int | None:
        if options.scope != "slice":
            return None
        total = session.scalar(select(func.count(ReplicaCopy.id))) or 0
        must = (
            session.scalar(select(func.count(ReplicaCopy.id)).where(_must_check(now, period, interval))) or 0
        )
        damaged = session.scalar(select(func.count(ReplicaCopy.id)).where(ReplicaCopy.state != OK)) or 0
        return slice_quota(total, must, damaged, period, interval)

    run_id, run_started = open_run(archive, slot, options.kind, now, quota)
    attempts = 1 + max(0, settings.fixity_retries)
    clock = time.monotonic()
    stores_down = ping_stores(archive, attempts, options.retry_delay)
    pass_ = _Pass(archive, options, run_started, now, attempts, stores_down)
    with ThreadPoolExecutor(
        max_workers=options.threads or os.cpu_count() or 2, thread_name_prefix="fixity"
    ) as pool:
        while True:
            want = reserve(archive, run_id, options.batch_size)
            if want == 0:
                break
            got = pass_.batch(pool, want)
            if got < want:
                reserve(archive, run_id, got - want)  # give back what nobody could claim
            if got == 0:
                break
    seconds = time.monotonic() - clock
    return finish(archive, pass_, run_id, slot, now, seconds)


def _must_check(now: datetime, period: timedelta, interval: timedelta) -> Any:
    return or_(
        ReplicaCopy.state != OK,
        ReplicaCopy.verified_at.is_(None),
        ReplicaCopy.verified_at < overdue_cutoff(now, period, interval),
    )


def open_run(
    archive: Archive, slot: str, kind: str, now: datetime, quota: Callable[[Session], int | None]
) -> tuple[int, datetime]:
    """The run for `slot`, created by whichever worker comes first (the unique slot settles races)."""
    for _ in range(2):
        try:
            with archive.sessions() as session, session.begin():
                run = session.scalar(select(FixityRun).where(FixityRun.slot == slot))
                if run is None:
                    run = FixityRun(slot=slot, kind=kind, started_at=now, quota=quota(session), claimed=0)
                    session.add(run)
                    session.flush()
                return run.id, run.started_at
        except IntegrityError:
            continue  # another worker created it a moment ago: read theirs
    raise FixityRunUnavailable(
        f"Không mở được lượt kiểm tra toàn vẹn {slot}", f"could not open fixity run {slot}"
    )


def reserve(archive: Archive, run_id: int, want: int) -> int:
    """Take up to `want` copies of the run's quota (a negative `want` gives some back). Short transaction: the run
    row is locked only for this update, never while copies are being hashed."""
    with archive.sessions() as session, session.begin():
        run = session.execute(select(FixityRun).where(FixityRun.id == run_id).with_for_update()).scalar_one()
        take = want if want < 0 or run.quota is None else max(0, min(want, run.quota - run.claimed))
        run.claimed += take
        return take


def ping_stores(archive: Archive, attempts: int, delay: float) -> tuple[str, ...]:
    """Stores that are down for this pass: their copies are marked unreachable without a request per copy."""
    down = []
    for store in archive.replicas.stores:
        for attempt in range(attempts):
            try:
                store.ping()
                break
            except StorageError:
                if attempt + 1 < attempts:
                    time.sleep(delay * (attempt + 1))
        else:
            down.append(store.url)
    return tuple(down)


def claim_statements(kind: Kind, started: datetime) -> list[Any]:
    """What a pass checks next, most urgent first, as separate statements (each to be given a LIMIT) that together
    read in the order "damaged copies, never checked ones, then the least recently checked": each walks an index in its
    own order, so claiming a batch costs the same over 15 M copies as over 15 (tests/integration/fixity: EXPLAIN)."""
    due_parts: list[tuple[Any, list[Any]]]
    if kind == "full":
        # a damaged copy is also skipped once this run looked at it; the literal lets PostgreSQL match the partial
        # index ix_replica_copies_damaged whatever plan it caches
        damaged = ReplicaCopy.state != literal(OK, literal_execute=True)
        looked_at = or_(ReplicaCopy.checked_at.is_(None), ReplicaCopy.checked_at < started)
        not_since = or_(ReplicaCopy.verified_at.is_(None), ReplicaCopy.verified_at < started)
        healthy = ReplicaCopy.state == OK
        due_parts = [
            (damaged & looked_at & not_since, [ReplicaCopy.verified_at.asc().nulls_first(), ReplicaCopy.id]),
            (healthy & ReplicaCopy.verified_at.is_(None), [ReplicaCopy.id]),
            (healthy & (ReplicaCopy.verified_at < started), [ReplicaCopy.verified_at, ReplicaCopy.id]),
        ]
    else:
        due_parts = [
            (ReplicaCopy.checked_at.is_(None), [ReplicaCopy.id]),
            (ReplicaCopy.checked_at < started, [ReplicaCopy.checked_at, ReplicaCopy.id]),
        ]
    return [
        select(ReplicaCopy, StoredObject)
        .join(StoredObject, ReplicaCopy.object_id == StoredObject.id)
        .where(due)
        .order_by(*order)
        .with_for_update(skip_locked=True, of=ReplicaCopy)  # rendered on PostgreSQL, ignored by SQLite
        for due, order in due_parts
    ]


class _Pass:
    """One worker's share of a run: claims batches, checks them, repairs, records."""

    def __init__(
        self,
        archive: Archive,
        options: RunOptions,
        run_started: datetime,
        now: datetime,
        attempts: int,
        stores_down: tuple[str, ...],
    ) -> None:
        self.archive = archive
        self.options = options
        self.run_started = run_started
        # Stamps must not be older than the run's start, or the copy would still look due and be claimed again (a
        # worker joining a run may have read its clock a moment before the first worker created the run).
        self.now = max(now, run_started)
        self.attempts = attempts
        self.stores_down = stores_down
        self.results: list[CheckResult] = []
        self.objects: set[int] = set()
        self.damage: list[Damage] = []
        self.seen: set[int] = set()

    def batch(self, pool: ThreadPoolExecutor, limit: int) -> int:
        with self.archive.sessions() as session, session.begin():
            rows: list[Any] = []
            for stmt in claim_statements(self.options.kind, self.run_started):
                rows += session.execute(stmt.limit(limit - len(rows))).all()
                if len(rows) == limit:
                    break
            if not rows:
                return 0
            if all(c.id in self.seen for c, _ in rows):
                # cannot happen while stamps are >= the run start; stop rather than spin on the same copies
                log.error("fixity pass claimed only copies it already checked; stopping this pass")
                return 0
            self.seen.update(c.id for c, _ in rows)
            tasks = [CopyTask(c.id, o.id, o.key, c.store_url, o.sha256, o.size, c.state) for c, o in rows]
            results = list(pool.map(self.check, tasks))
            for (copy, obj), task, result in zip(rows, tasks, results, strict=True):
                self.objects.add(obj.id)
                self.results.append(result)
                self.record(session, copy, task, result, results)
            return len(rows)

    def check(self, task: CopyTask) -> CheckResult:
        if task.store_url in self.stores_down:
            return _result(task, UNREACHABLE, None, "store is down", 0, False)
        try:
            store = self.archive.replicas.store(task.store_url)
        except KeyError:
            return _result(task, UNREACHABLE, None, "store is no longer configured", 0, False)
        return check_copy(
            store,
            task,
            full=self.options.kind == "full",
            attempts=self.attempts,
            delay=self.options.retry_delay,
            sleep=time.sleep,
        )

    def record(
        self,
        session: Session,
        copy: ReplicaCopy,
        task: CopyTask,
        result: CheckResult,
        batch: list[CheckResult],
    ) -> None:
        copy.checked_at = self.now
        if result.ok:
            if result.full:
                copy.verified_at = self.now
            if copy.state not in (OK, PENDING):
                # came back by itself (a store that was down): the full check above is the proof. A "pending" copy
                # (written while a store was degraded, or listed by a catalog rebuild) just got its first check: no
                # event each, or a rebuild of a million copies would write a million events; the summary counts them.
                _event(session, "replica.repair", task, result, None, refs=documents_of(session, task.sha256))
            copy.state, copy.detail = OK, ""
            return
        prefer = [r.store for r in batch if r.ok and r.full and r.key == task.key]
        repair = self.repair(task, result, prefer)
        refs = documents_of(session, task.sha256)
        changed = copy.state != result.state  # persistent damage is in every report, but one event per change
        if repair.repaired:
            copy.state, copy.detail, copy.verified_at = OK, repair.detail[:1000], self.now
        else:
            copy.state, copy.detail = result.state, result.detail[:1000]
        whole_store_down = task.store_url in self.stores_down
        if (changed or repair.repaired) and not whole_store_down:
            _event(session, "replica.damage", task, result, repair, refs=refs)
        if repair.repaired:
            _event(session, "replica.repair", task, result, repair, refs=refs)
        self.damage.append(
            Damage(
                task.store_url,
                task.key,
                result.state,
                task.sha256,
                result.found,
                result.detail,
                refs,
                repair.repaired,
                repair.detail,
            )
        )

    def repair(self, task: CopyTask, result: CheckResult, prefer: Iterable[str]) -> RepairOutcome:
        return repair_copy(
            self.archive.replicas,
            key=task.key,
            sha256=task.sha256,
            target=task.store_url,
            state=result.state,
            spool_dir=self.archive.spool_dir,
            skip=self.stores_down,
            prefer=prefer,
        )


def documents_of(session: Session, sha256: str) -> tuple[DocumentRef, ...]:
    """Which documents a stored object belongs to (as content or as a version's manifest)."""
    rows = session.execute(
        select(Version.document_id, Version.number, Version.original_filename, Organisation.code)
        .join(Document, Version.document_id == Document.id)
        .join(Organisation, Document.school_id == Organisation.id)
        .where(or_(Version.sha256 == sha256, Version.manifest_sha256 == sha256))
        .order_by(Version.document_id, Version.number)
    ).all()
    return tuple(DocumentRef(d, n, f, s) for d, n, f, s in rows)


def _event(
    session: Session,
    action: str,
    task: CopyTask,
    result: CheckResult,
    repair: RepairOutcome | None,
    *,
    refs: tuple[DocumentRef, ...],
) -> None:
    first = refs[0] if refs else None
    org_id = None
    if first is not None:
        org_id = session.scalar(select(Organisation.id).where(Organisation.code == first.school))
    detail: dict[str, Any] = {
        "key": task.key,
        "store": task.store_url,
        "state": result.state,
        "previous_state": task.state,
        "expected": task.sha256,
        "found": result.found,
        "detail": result.detail,
        "check": "full" if result.full else "light",
        "attempts": result.attempts,
        "documents": [r.document_id for r in refs],
    }
    if repair is not None:
        detail |= {"repaired": repair.repaired, "source": repair.source, "repair_detail": repair.detail}
    outcome = "ok" if action == "replica.repair" else "error"
    record_event(
        session,
        action,
        actor_name="system",
        document_id=first.document_id if first else None,
        organisation_id=org_id,
        outcome=outcome,
        detail=detail,
    )


def finish(
    archive: Archive, pass_: _Pass, run_id: int, slot: str, now: datetime, seconds: float
) -> FixityReport:
    results = pass_.results
    bytes_read = sum(r.bytes_read for r in results)
    repaired = sum(d.repaired for d in pass_.damage)
    unrepairable = [d for d in pass_.damage if not d.repaired]
    with archive.sessions() as session, session.begin():
        run = session.execute(select(FixityRun).where(FixityRun.id == run_id).with_for_update()).scalar_one()
        run.copies_checked += len(results)
        run.bytes_checked += bytes_read
        run.damage_found += len(pass_.damage)
        run.repaired += repaired
        run.unrepairable += len(unrepairable)
        run.workers += 1
        run.finished_at = utcnow()
        kind, started = run.kind, run.started_at
        if results or pass_.stores_down:
            record_event(
                session,
                "fixity.run",
                actor_name="system",
                outcome="error" if unrepairable else "ok",
                detail={
                    "run_id": run_id,
                    "slot": slot,
                    "kind": kind,
                    "worker": f"{socket.gethostname()}:{os.getpid()}",
                    "copies_checked": len(results),
                    "objects_checked": len(pass_.objects),
                    "bytes_checked": bytes_read,
                    "seconds": round(seconds, 3),
                    "damage_found": len(pass_.damage),
                    "repaired": repaired,
                    "unrepairable": len(unrepairable),
                    "stores_down": list(pass_.stores_down),
                },
            )
        remaining = session.scalar(select(func.count(ReplicaCopy.id)).where(ReplicaCopy.state != OK)) or 0
    report = FixityReport(
        run_id=run_id,
        slot=slot,
        kind=kind,
        started_at=started,
        finished_at=utcnow(),
        copies_checked=len(results),
        objects_checked=len(pass_.objects),
        bytes_checked=bytes_read,
        seconds=seconds,
        damage=tuple(pass_.damage),
        stores_down=pass_.stores_down,
        remaining_damage=remaining,
        checked_copy_ids=tuple(r.copy_id for r in results),
    )
    log.info(
        "fixity %s run %s: %d copies, %d bytes in %.1fs, %d damaged, %d repaired, %d unrepairable",
        kind,
        slot,
        report.copies_checked,
        report.bytes_checked,
        seconds,
        len(report.damage),
        len(report.repaired),
        len(report.unrepairable),
    )
    if unrepairable and pass_.options.alert:
        send_alert(archive.settings, *alert_text(report))
    return report


def alert_text(report: FixityReport) -> tuple[str, str]:
    bad = report.unrepairable
    subject = (
        f"Phát hiện {len(bad)} bản sao hỏng chưa sửa được / {len(bad)} damaged copies could not be repaired"
    )
    lines = [
        "Danh sách tệp bị lỗi (Thông tư 02/2019/TT-BNV) / List of faulty files:",
        "",
    ]
    for d in bad[:ALERT_LINES]:
        docs = (
            ", ".join(f"{r.school}/{r.document_id} v{r.version} «{r.filename}»" for r in d.documents) or "-"
        )
        lines.append(f"- {d.state}: {d.key}  (kho / store: {d.store})  hồ sơ / documents: {docs}")
        lines.append(f"    {d.detail}  |  {d.repair_detail}")
    if len(bad) > ALERT_LINES:
        lines.append(f"... và {len(bad) - ALERT_LINES} bản sao khác / and {len(bad) - ALERT_LINES} more")
    lines += ["", f"Lượt kiểm tra / run: {report.slot} ({report.kind}), {report.finished_at.isoformat()}"]
    return subject, "\n".join(lines)


# ---- status -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixityStatus:
    total_copies: int
    by_state: tuple[tuple[str, int], ...]
    never_verified: int
    overdue: int  # not fully verified within the period
    oldest_verified_at: datetime | None
    oldest_checked_at: datetime | None
    last_run_slot: str | None
    last_run_finished_at: datetime | None

    @property
    def healthy(self) -> bool:
        return all(state == OK for state, n in self.by_state if n) and self.overdue == 0

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "total_copies": self.total_copies,
            "by_state": dict(self.by_state),
            "never_verified": self.never_verified,
            "overdue": self.overdue,
            "oldest_verified_at": iso(self.oldest_verified_at),
            "oldest_checked_at": iso(self.oldest_checked_at),
            "last_run": {"slot": self.last_run_slot, "finished_at": iso(self.last_run_finished_at)},
            "healthy": self.healthy,
        }


def fixity_status(archive: Archive, *, now: datetime | None = None) -> FixityStatus:
    """Counts from the catalog only: cheap enough for a health page."""
    now = now or utcnow()
    period = timedelta(days=archive.settings.fixity_full_period_days)
    with archive.sessions() as s:
        by_state = s.execute(
            select(ReplicaCopy.state, func.count()).group_by(ReplicaCopy.state).order_by(ReplicaCopy.state)
        ).all()
        never = s.scalar(select(func.count()).where(ReplicaCopy.verified_at.is_(None))) or 0
        overdue = s.scalar(
            select(func.count()).where(
                or_(ReplicaCopy.verified_at.is_(None), ReplicaCopy.verified_at < now - period)
            )
        )
        oldest_v = s.scalar(select(func.min(ReplicaCopy.verified_at)))
        oldest_c = s.scalar(select(func.min(ReplicaCopy.checked_at)))
        last = s.execute(
            select(FixityRun.slot, FixityRun.finished_at)
            .where(FixityRun.finished_at.is_not(None))
            .order_by(FixityRun.finished_at.desc())
            .limit(1)
        ).first()
    return FixityStatus(
        total_copies=sum(n for _, n in by_state),
        by_state=tuple((st, n) for st, n in by_state),
        never_verified=never,
        overdue=overdue or 0,
        oldest_verified_at=oldest_v,
        oldest_checked_at=oldest_c,
        last_run_slot=last[0] if last else None,
        last_run_finished_at=last[1] if last else None,
    )
