"""Signed check records (biên bản kiểm tra định kỳ): Công văn 1370 asks that the three copies be checked
periodically, Thông tư 02/2019/TT-BNV that backups be logged and a database check end with the list of faulty files
(file name, medium, folder) and a record. hoso's fixity runs do the checking; this module writes the record.

`make_check_record(archive, start, end)` sums the fixity runs finished in the period, lists every damage found and
every repair (from which copy), names what is still damaged, renders the biên bản as a PDF (JSON embedded), signs it
with the system's seal and keeps it in every replica as an export (never deleted; fixity checks it like any copy).
`due_cycle_record` makes one automatically each time a full-check period (HOSO_FIXITY_FULL_PERIOD_DAYS) has passed
since the last one — every copy has then been re-hashed once — and the scheduler calls it daily. The rows, newest
first, are the backup log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.context import Archive
from archive.db import utcnow
from archive.errors import InvalidInput, NotFound, StorageDown
from archive.events import record_event
from archive.ingest import track_object
from archive.models import Event, ReplicaCopy, User
from storage import NotEnoughReplicas

from .check_record_filing import file_for_principals
from .check_record_models import CheckRecord
from .check_record_pdf import render_check_record
from .integrity_models import FixityRun

PREFIX = "exports/check-records/"
MAX_LISTED = 500  # damage lines listed in one record (the count is always complete)


@dataclass(frozen=True)
class CheckRecordSummary:
    id: int
    created_at: datetime
    period_start: datetime
    period_end: datetime
    trigger: str
    actor: str
    summary: dict[str, Any]
    sha256: str
    size: int
    key: str

    @classmethod
    def of(cls, r: CheckRecord) -> CheckRecordSummary:
        return cls(
            r.id, r.created_at, r.period_start, r.period_end, r.trigger, r.actor, dict(r.summary), r.sha256, r.size,
            r.key,
        )  # fmt: skip


def medium(url: str) -> str:
    """A store as a person names the medium: its kind and place, without credentials or query strings."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return f"thư mục {parts.path}"
    if parts.scheme == "s3":
        return f"S3 {parts.netloc}{parts.path}"
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def gather(session: Session, stores: list[str], start: datetime, end: datetime) -> dict[str, Any]:
    """Everything the record says, from the catalog: runs, totals, damage and repairs of the period, copies now."""
    runs = list(
        session.scalars(
            select(FixityRun)
            .where(
                FixityRun.finished_at.is_not(None),
                FixityRun.finished_at >= start,
                FixityRun.finished_at <= end,
            )
            .order_by(FixityRun.finished_at)
        )
    )
    events = list(
        session.scalars(
            select(Event)
            .where(
                Event.action.in_(("replica.damage", "replica.repair")),
                Event.occurred_at >= start,
                Event.occurred_at <= end,
            )
            .order_by(Event.id)
        )
    )
    position = {url: n for n, url in enumerate(stores, 1)}
    found, repaired = [], []
    for e in events:
        d = e.detail if isinstance(e.detail, dict) else {}
        line = {
            "at": e.occurred_at.isoformat(),
            "key": d.get("key"),
            "store": position.get(d.get("store", ""), 0),
            "state": d.get("state"),
            "documents": d.get("documents", []),
            "source": position.get(d.get("source") or ""),
        }
        if e.action == "replica.damage" and not d.get("repaired"):
            found.append(line)
        elif (
            e.action == "replica.repair"
        ):  # its replica.damage event (repaired: true) says the same: counted once
            repaired.append(line)
    bad_now = session.execute(
        select(ReplicaCopy.store_url, func.count())
        .where(ReplicaCopy.state != "ok")
        .group_by(ReplicaCopy.store_url)
    ).all()
    copies = session.execute(
        select(ReplicaCopy.store_url, func.count()).group_by(ReplicaCopy.store_url)
    ).all()
    verified = session.execute(
        select(ReplicaCopy.store_url, func.count())
        .where(ReplicaCopy.verified_at.is_not(None), ReplicaCopy.verified_at >= start)
        .group_by(ReplicaCopy.store_url)
    ).all()
    per_store = {url: {"copies": 0, "verified_in_period": 0, "damaged_now": 0} for url in stores}
    for rows, field in ((copies, "copies"), (verified, "verified_in_period"), (bad_now, "damaged_now")):
        for url, n in rows:
            per_store.setdefault(url, {"copies": 0, "verified_in_period": 0, "damaged_now": 0})[field] = n
    return {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "stores": [
            {"position": position.get(url, 0), "medium": medium(url)} | counts
            for url, counts in per_store.items()
        ],
        "runs": len(runs),
        "full_runs": sum(r.kind == "full" for r in runs),
        "copies_checked": sum(r.copies_checked for r in runs),
        "bytes_checked": sum(r.bytes_checked for r in runs),
        "damage_found": sum(r.damage_found for r in runs),
        "repaired": sum(r.repaired for r in runs),
        "unrepaired": sum(r.unrepairable for r in runs),
        "damaged_now": sum(n for _, n in bad_now),
        "damage": found[:MAX_LISTED],
        "repairs": repaired[:MAX_LISTED],
        "run_list": [
            {
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "kind": r.kind,
                "copies_checked": r.copies_checked,
                "damage_found": r.damage_found,
                "repaired": r.repaired,
                "unrepaired": r.unrepairable,
            }
            for r in runs[-200:]
        ],
    }


def make_check_record(
    archive: Archive,
    *,
    start: datetime,
    end: datetime | None = None,
    trigger: str = "on_demand",
    actor: User | None = None,
) -> CheckRecordSummary:
    end = end or utcnow()
    if start >= end:
        raise InvalidInput(
            "Kỳ kiểm tra không hợp lệ", "The period must end after it starts", code="bad_period"
        )
    stores = [s.url for s in archive.replicas.stores]
    with archive.sessions() as session:
        data = gather(session, stores, start, end)
        actor_name = actor.username if actor is not None else "system"
    data |= {"trigger": trigger, "created_by": actor_name}
    if archive.signing is None:
        raise StorageDown(
            "Chưa cấu hình chữ ký số của hệ thống", "No system seal is configured", code="no_seal"
        )
    pdf = archive.signing.sign_org(render_check_record(data))
    sha = hashlib.sha256(pdf).hexdigest()
    key = f"{PREFIX}{end.strftime('%Y%m%dT%H%M%S')}-{sha[:12]}.pdf"
    try:
        results = archive.replicas.put_bytes(key, pdf, sha)
    except NotEnoughReplicas as exc:
        raise StorageDown(
            "Không lưu được biên bản vào đủ kho", f"Could not store the check record: {exc}"
        ) from None
    with archive.sessions() as session, session.begin():
        track_object(session, key, sha, len(pdf), "export", results)
        row = CheckRecord(
            period_start=start, period_end=end, trigger=trigger, actor=actor_name, summary=data, key=key, sha256=sha,
            size=len(pdf),
        )  # fmt: skip
        session.add(row)
        session.flush()
        record_event(
            session,
            "fixity.check_record",
            actor=session.get(User, actor.id) if actor is not None else None,
            actor_name=None if actor is not None else "system",
            detail={"record": row.id, "key": key, "sha256": sha, "trigger": trigger}
            | {k: data[k] for k in ("copies_checked", "damage_found", "repaired", "unrepaired")},
        )
        summary = CheckRecordSummary.of(row)
    # offered to each school's principal to countersign, through the catalog's signing chain
    file_for_principals(archive, record_id=summary.id, pdf=pdf, start=start, end=end)
    return summary


def due_cycle_record(archive: Archive, *, now: datetime | None = None) -> CheckRecordSummary | None:
    """A record for the cycle just completed, when a full-check period has passed since the last cycle record (or
    since the first fixity run, for the first one); None when not yet due (by the catalog's clock)."""
    now = now or archive.now()
    period = timedelta(days=archive.settings.fixity_full_period_days)
    with archive.sessions() as session:
        last = session.scalar(
            select(func.max(CheckRecord.period_end)).where(CheckRecord.trigger == "cycle")
        ) or session.scalar(select(func.min(FixityRun.started_at)))
    if last is None or now - last < period:
        return None
    return make_check_record(archive, start=last, end=now, trigger="cycle")


def list_records(session: Session, limit: int = 100) -> list[CheckRecordSummary]:
    rows = session.scalars(
        select(CheckRecord).order_by(CheckRecord.created_at.desc(), CheckRecord.id.desc()).limit(limit)
    )
    return [CheckRecordSummary.of(r) for r in rows]


def recent_runs(session: Session, limit: int = 30) -> list[dict[str, Any]]:
    """The last finished fixity runs, oldest first (for the integrity page's chart)."""
    rows = list(
        session.scalars(
            select(FixityRun)
            .where(FixityRun.finished_at.is_not(None))
            .order_by(FixityRun.finished_at.desc())
            .limit(limit)
        )
    )
    return [
        {
            "finished_at": r.finished_at,
            "kind": r.kind,
            "copies_checked": r.copies_checked,
            "damage_found": r.damage_found,
            "repaired": r.repaired,
            "unrepaired": r.unrepairable,
        }
        for r in reversed(rows)
    ]


def record_pdf(archive: Archive, record_id: int) -> tuple[CheckRecordSummary, bytes]:
    with archive.sessions() as session:
        row = session.get(CheckRecord, record_id)
        if row is None:
            raise NotFound(
                f"Không có biên bản {record_id}", f"No check record {record_id}", code="record_not_found"
            )
        summary = CheckRecordSummary.of(row)
    _, chunks = archive.replicas.open_verified(summary.key, summary.sha256)
    return summary, b"".join(chunks)
