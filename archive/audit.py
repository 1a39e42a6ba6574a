"""The audit trail: querying and exporting events, verifying the hash chain, and anchoring its head with an RFC 3161
timestamp written to every replica store.

Why anchors: the chain alone proves the log was not edited *unless* someone with database access rewrites every hash
after their edit. A daily anchor (the head's hash, timestamped by a TSA, stored outside the database in the replicas)
pins the history: a rewritten chain no longer matches the anchors, and an anchor cannot be back-dated because the
TSA's signed time is in it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from signing import TimestampUnavailable, read_token, request_timestamp
from signing.trust import load_certificates
from storage import StorageError

from .context import Archive
from .errors import ArchiveError, InvalidInput
from .events import GENESIS, compute_hash, record_event
from .models import AuditAnchor, ChainHead, Event
from .signing_setup import SigningSetup, dev_pki_served

ANCHOR_PREFIX = "audit/anchors/"


# --- query and export ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None  # username
    document_id: str | None = None
    action: str | None = None  # exact, or a prefix ending with "." / "*" ("auth.", "document.*")
    organisation_ids: list[int] | None = None  # None = all (system administrator)
    since: datetime | None = None
    until: datetime | None = None


def _filtered(f: EventFilter) -> Select[Event]:
    stmt = select(Event)
    if f.actor:
        stmt = stmt.where(Event.actor == f.actor)
    if f.document_id:
        stmt = stmt.where(Event.document_id == f.document_id)
    if f.action:
        if f.action.endswith((".", "*")):
            stmt = stmt.where(Event.action.startswith(f.action.rstrip("*"), autoescape=True))
        else:
            stmt = stmt.where(Event.action == f.action)
    if f.organisation_ids is not None:
        stmt = stmt.where(Event.organisation_id.in_(f.organisation_ids))
    if f.since:
        stmt = stmt.where(Event.occurred_at >= f.since)
    if f.until:
        stmt = stmt.where(Event.occurred_at < f.until)
    return stmt


def query_events(
    session: Session, f: EventFilter, *, limit: int = 100, offset: int = 0, newest_first: bool = False
) -> tuple[list[Event], int]:
    """A page of events in chain order (exports, the API), or newest first (what a person reading the trail wants)."""
    stmt = _filtered(f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = Event.id.desc() if newest_first else Event.id
    rows = session.scalars(stmt.order_by(order).limit(limit).offset(offset))
    return list(rows), total


def iter_events(session: Session, f: EventFilter) -> Iterator[Event]:
    yield from session.scalars(_filtered(f).order_by(Event.id).execution_options(yield_per=1000))


EXPORT_FIELDS = (
    "id",
    "occurred_at",
    "actor",
    "actor_id",
    "action",
    "outcome",
    "organisation_id",
    "document_id",
    "version_id",
    "detail",
    "prev_hash",
    "hash",
)


def event_to_dict(ev: Event) -> dict[str, Any]:
    return {
        "id": ev.id,
        "occurred_at": ev.occurred_at.isoformat(timespec="microseconds"),
        "actor": ev.actor,
        "actor_id": ev.actor_id,
        "action": ev.action,
        "outcome": ev.outcome,
        "organisation_id": ev.organisation_id,
        "document_id": ev.document_id,
        "version_id": ev.version_id,
        "detail": ev.detail or {},
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
    }


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet will show as text: a value starting like a formula (a username "=HYPERLINK(…)") gets a
    leading apostrophe (OWASP's advice for CSV injection); numbers and empty cells stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_csv(events: Iterator[Event]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for ev in events:
        row = event_to_dict(ev)
        row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        writer.writerow({name: csv_cell(value) for name, value in row.items()})
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def export_json(events: Iterator[Event]) -> Iterator[str]:
    """A JSON array, streamed; with prev_hash and hash so the export itself can be re-verified."""
    yield "["
    first = True
    for ev in events:
        yield ("" if first else ",\n") + json.dumps(event_to_dict(ev), ensure_ascii=False)
        first = False
    yield "]\n"


def parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Thời điểm không hợp lệ ({name}): {value}", f"Invalid time for {name}: {value!r} (ISO 8601)"
        ) from None
    if when.tzinfo is None:
        from zoneinfo import ZoneInfo

        when = when.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))  # people here mean Vietnam time
    return when


# --- verification -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainBreak:
    kind: str  # gap / prev_hash / hash / head / anchor
    event_id: int | None
    message_vi: str
    message_en: str
    where: str = ""  # the replica store, for anchor problems


@dataclass(frozen=True)
class VerifyReport:
    events_checked: int
    last_event_id: int | None
    last_hash: str
    first_break: ChainBreak | None
    anchors_checked: int = 0
    anchor_problems: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_break is None and not self.anchor_problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def verify_chain(session: Session) -> VerifyReport:
    """Walk the events in id order: ids must be consecutive from 1, each prev_hash must be the previous event's hash,
    each hash must be recomputable; finally the chain head must name the last event. Stops at the first break."""
    prev_hash, expected_id, checked = GENESIS, 1, 0
    last_id: int | None = None
    for ev in session.scalars(select(Event).order_by(Event.id).execution_options(yield_per=1000)):
        brk = None
        if ev.id != expected_id:
            brk = ChainBreak(
                "gap",
                ev.id,
                f"Thiếu sự kiện {expected_id}…{ev.id - 1} (bị xóa hoặc chèn)" if ev.id > expected_id else
                f"Sự kiện {ev.id} sai thứ tự",
                f"Events {expected_id}…{ev.id - 1} are missing (deleted or inserted)" if ev.id > expected_id else
                f"Event {ev.id} out of order",
            )  # fmt: skip
        elif ev.prev_hash != prev_hash:
            brk = ChainBreak(
                "prev_hash",
                ev.id,
                f"Sự kiện {ev.id} không nối tiếp sự kiện trước (bị chèn, xóa hoặc đổi thứ tự)",
                f"Event {ev.id} does not follow the previous event (inserted, deleted or reordered)",
            )
        elif compute_hash(prev_hash, ev) != ev.hash:
            brk = ChainBreak(
                "hash",
                ev.id,
                f"Nội dung sự kiện {ev.id} đã bị sửa",
                f"Event {ev.id} was edited after it was recorded",
            )
        if brk is not None:
            return VerifyReport(checked, last_id, prev_hash, brk)
        prev_hash, last_id, expected_id, checked = ev.hash, ev.id, ev.id + 1, checked + 1
    head = session.get(ChainHead, 1)
    head_id, head_hash = (head.last_event_id, head.last_hash) if head else (None, GENESIS)
    if head_id != last_id or head_hash != prev_hash:
        return VerifyReport(
            checked,
            last_id,
            prev_hash,
            ChainBreak(
                "head",
                last_id,
                f"Đầu chuỗi ghi sự kiện {head_id} nhưng sự kiện cuối là {last_id} (bị cắt bớt hoặc thêm vào cuối)",
                f"The chain head names event {head_id} but the last event is {last_id} (tail truncated or appended)",
            ),
        )
    return VerifyReport(checked, last_id, prev_hash, None)


def verify(archive: Archive) -> VerifyReport:
    """The chain, then every anchor found in every replica store."""
    with archive.sessions() as session:
        report = verify_chain(session)
        problems, checked = verify_anchors(archive, session)
    return VerifyReport(
        report.events_checked,
        report.last_event_id,
        report.last_hash,
        report.first_break,
        checked,
        problems,
    )


# --- anchoring ----------------------------------------------------------------------------------------------------
def anchor_statement(event_id: int, event_hash: str) -> bytes:
    return f"hoso-audit-chain-head:{event_id}:{event_hash}".encode()


@dataclass(frozen=True)
class Anchor:
    key: str
    event_id: int
    event_hash: str
    anchored_at: datetime
    tsa_url: str
    token_b64: str

    def to_json(self) -> bytes:
        body = {
            "version": 1,
            "event_id": self.event_id,
            "event_hash": self.event_hash,
            "statement": anchor_statement(self.event_id, self.event_hash).decode(),
            "digest_algorithm": "sha256",
            "anchored_at": self.anchored_at.isoformat(),
            "tsa_url": self.tsa_url,
            "token": self.token_b64,
        }
        return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True).encode()


def _signing_setup(archive: Archive) -> SigningSetup:
    if archive.signing is None:
        raise InvalidInput(
            "Tiến trình này không có cấu hình chữ ký số",
            "This process has no signing setup",
            code="no_signing",
        )
    return archive.signing.setup


def anchor_chain_head(archive: Archive) -> Anchor | None:
    """Timestamp the current chain head with the TSA (settings.tsa_url) and write the anchor to every replica.
    Returns None when the trail is empty. The scheduler calls this daily; `hoso audit anchor` runs it by hand."""
    setup = _signing_setup(archive)  # HOSO_TSA_URL, or the dev PKI's own TSA on the embedded defaults
    tsa_url = setup.tsa_url
    if not tsa_url:
        raise InvalidInput(
            "Chưa cấu hình TSA (HOSO_TSA_URL)", "No TSA configured (HOSO_TSA_URL)", code="tsa_not_configured"
        )
    with archive.sessions() as session:
        head = session.get(ChainHead, 1)
        if head is None or head.last_event_id is None:
            return None
        event_id, event_hash = head.last_event_id, head.last_hash
    digest = hashlib.sha256(anchor_statement(event_id, event_hash)).digest()
    with dev_pki_served(setup):
        try:
            token = request_timestamp(tsa_url, digest)
        except TimestampUnavailable as exc:
            cause = exc.__cause__ or exc
            raise ArchiveError(
                f"Không lấy được dấu thời gian từ TSA {tsa_url}: {cause}",
                f"Could not get a timestamp from the TSA {tsa_url}: {cause}",
                code="tsa_unavailable",
                status=503,
            ) from exc
    facts = read_token(token)
    if facts.imprint != digest:
        raise ArchiveError(
            "TSA trả về dấu thời gian cho dữ liệu khác", "The TSA stamped something else", code="tsa_mismatch"
        )
    key = f"{ANCHOR_PREFIX}{facts.gen_time.date().isoformat()}-{event_id}.json"
    anchor = Anchor(key, event_id, event_hash, facts.gen_time, tsa_url, base64.b64encode(token).decode())
    data = anchor.to_json()
    try:
        results = archive.replicas.put_bytes(key, data, hashlib.sha256(data).hexdigest())
    except StorageError as exc:
        raise ArchiveError(
            f"Không ghi được mốc neo vào kho sao lưu: {exc}",
            f"Could not write the anchor to the replicas: {exc}",
            code="storage_unavailable",
            status=503,
        ) from exc
    with archive.sessions() as session, session.begin():
        existing = session.scalar(select(AuditAnchor).where(AuditAnchor.key == key))
        if existing is None:
            session.add(
                AuditAnchor(
                    event_id=event_id,
                    event_hash=event_hash,
                    anchored_at=facts.gen_time,
                    tsa_url=tsa_url,
                    key=key,
                    token_b64=anchor.token_b64,
                )
            )
        record_event(
            session,
            "audit.anchor",
            detail={
                "event_id": event_id,
                "hash": event_hash,
                "key": key,
                "stores": [r.state for r in results],
            },
        )
    return anchor


def verify_anchors(archive: Archive, session: Session) -> tuple[list[ChainBreak], int]:
    """Every anchor file in every store must name an event whose hash it carries, with a TSA token over exactly that
    statement, signed, and dated the day its name says."""
    problems: list[ChainBreak] = []
    checked = 0
    roots = _trust_roots_der(archive)
    for store in archive.replicas.stores:
        try:
            keys = sorted(store.list(ANCHOR_PREFIX))
        except StorageError as exc:
            problems.append(
                ChainBreak(
                    "anchor", None, f"Không đọc được kho: {exc}", f"Store unreadable: {exc}", store.url
                )
            )
            continue
        for key in keys:
            checked += 1
            problem = _check_anchor(store, key, session, roots)
            if problem is not None:
                vi, en, event_id = problem
                problems.append(ChainBreak("anchor", event_id, f"{key}: {vi}", f"{key}: {en}", store.url))
    return problems, checked


def _trust_roots_der(archive: Archive) -> list[bytes]:
    """DER of every configured trust root (files or folders, PEM or DER; the dev PKI's root on the embedded defaults)."""

    # an explicitly configured TSA is trusted as configured; the dev PKI's root only vouches for its own TSA
    paths = (
        archive.settings.trust_root_paths if archive.settings.tsa_url else _signing_setup(archive).trust_roots
    )
    return [cert.dump() for cert in load_certificates(paths)]


def _check_anchor(
    store: Any, key: str, session: Session, roots: list[bytes]
) -> tuple[str, str, int | None] | None:
    try:
        with store.get(key) as f:
            body = json.loads(f.read())
        event_id, event_hash = int(body["event_id"]), str(body["event_hash"])
        token = base64.b64decode(body["token"])
    except (StorageError, ValueError, KeyError, TypeError) as exc:
        return f"mốc neo không đọc được ({exc})", f"unreadable anchor ({exc})", None
    ev = session.get(Event, event_id)
    if ev is None:
        return (
            f"sự kiện {event_id} được neo không còn trong nhật ký",
            f"anchored event {event_id} is missing from the trail",
            event_id,
        )
    if ev.hash != event_hash:
        return (
            f"sự kiện {event_id} khác với lúc được neo (nhật ký đã bị viết lại)",
            f"event {event_id} differs from when it was anchored (the trail was rewritten)",
            event_id,
        )
    try:
        facts = read_token(token, roots or None)
    except Exception as exc:  # a malformed token is a finding, whatever the parser raises
        return f"dấu thời gian hỏng ({exc})", f"malformed timestamp token ({exc})", event_id
    if facts.imprint != hashlib.sha256(anchor_statement(event_id, event_hash)).digest() or not facts.intact:
        return (
            "dấu thời gian không khớp hoặc chữ ký TSA sai",
            "timestamp does not match or TSA signature invalid",
            event_id,
        )
    if not key.startswith(f"{ANCHOR_PREFIX}{facts.gen_time.date().isoformat()}-"):
        return "ngày trong tên tệp khác ngày của TSA", "the file's date differs from the TSA's time", event_id
    return None
