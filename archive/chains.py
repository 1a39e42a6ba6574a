"""Signing chains: who signs a record, in which order, and what waits for whom (Công văn 1370; NĐ 30/2020).

A document type's chain is an ordered list of steps (archive/data/signing-chains.csv, version 1; the system
administrator's edits add versions). Uploading a record opens its chain: one `signing_requests` row per person and
step, the first step `waiting`, the later ones `pending`. A signature is accepted only from a person whose row is
waiting (`claim`), otherwise 409 `signing_out_of_order` naming the step that waits; when every row of a step is signed
the next step opens. A signer may return the record with a reason; a new version of its content restarts the chain in
a new round. Types without a chain keep the plain permission rule (archive.signatures.signing_action).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .chain_models import SigningChainStep, SigningRequest
from .correction_models import CorrectionRequest
from .db import utcnow
from .errors import Conflict, InvalidInput, PermissionDenied
from .events import record_event
from .locks import administrators_of
from .models import Document, DocumentType, RoleAssignment, User
from .permissions import permitted
from .roster import group_heads_of, homeroom_of, subject_teachers_of
from .state_records import write_record

DATA = Path(__file__).parent / "data" / "signing-chains.csv"

# who signs a step → (Vietnamese, English) names
WHO: dict[str, tuple[str, str]] = {
    "uploader": ("Người lập hồ sơ", "the uploader"),
    "subject_teachers": ("Giáo viên bộ môn của lớp", "every subject teacher of the class"),
    "homeroom": ("Giáo viên chủ nhiệm", "the homeroom teacher"),
    "group_head": ("Tổ trưởng chuyên môn", "the group head"),
    "principal": ("Hiệu trưởng", "the principal"),
    "seal": ("Con dấu của trường (văn thư)", "the school seal"),
    # a biên bản chỉnh sửa dữ liệu (CV 1370 Phụ lục II.2): the person who asked for the correction, and the
    # administrator who helped apply it
    "requester": ("Người đề nghị chỉnh sửa", "the correction's requester"),
    "administrator": ("Cán bộ quản trị hệ thống", "the system administrator"),
}
# "Chờ … ký" on lists and pages
WAITING_VI = {
    "uploader": "Chờ người lập ký",
    "subject_teachers": "Chờ GVBM ký",
    "homeroom": "Chờ GVCN ký",
    "group_head": "Chờ Tổ trưởng duyệt",
    "principal": "Chờ Hiệu trưởng ký",
    "seal": "Chờ đóng dấu",
    "requester": "Chờ người đề nghị ký",
    "administrator": "Chờ quản trị hệ thống ký",
}
ACTIVE = ("pending", "waiting")


class OutOfOrder(Conflict):
    """409 `signing_out_of_order`; the body names the step(s) waiting."""

    def __init__(self, message_vi: str, message_en: str, waiting: list[dict[str, Any]]):
        super().__init__(message_vi, message_en, code="signing_out_of_order", extra={"waiting": waiting})


# --- chains as data ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    position: int
    who: str
    title_vi: str
    parallel: bool = False
    optional: bool = False
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position, "who": self.who, "who_vi": WHO[self.who][0], "title_vi": self.title_vi,
            "parallel": self.parallel, "optional": self.optional, "source": self.source,
        }  # fmt: skip


def default_steps() -> dict[str, list[Step]]:
    out: dict[str, list[Step]] = {}
    with DATA.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["type_code"], []).append(
                Step(
                    int(row["position"]),
                    row["who"],
                    row["title_vi"],
                    row["parallel"] == "yes",
                    row["optional"] == "yes",
                    row["source"],
                )  # fmt: skip
            )
    return out


def seed_defaults(session: Session) -> None:
    """Version 1 of each shipped chain, for types that have none yet (run by the migration's seed)."""
    have = set(session.scalars(select(SigningChainStep.type_code).distinct()))
    types = set(session.scalars(select(DocumentType.code)))
    for code, steps in default_steps().items():
        if code in have or code not in types:
            continue
        for s in steps:
            session.add(
                SigningChainStep(
                    type_code=code,
                    version=1,
                    position=s.position,
                    who=s.who,
                    title_vi=s.title_vi,
                    parallel=s.parallel,
                    optional=s.optional,
                    source=s.source,
                    created_at=utcnow(),
                )  # fmt: skip
            )


def chain_version(session: Session, type_code: str) -> int:
    return int(
        session.scalar(
            select(func.max(SigningChainStep.version)).where(SigningChainStep.type_code == type_code)
        )
        or 0
    )


def steps_of(session: Session, type_code: str, version: int | None = None) -> list[Step]:
    version = chain_version(session, type_code) if version is None else version
    rows = session.scalars(
        select(SigningChainStep)
        .where(SigningChainStep.type_code == type_code, SigningChainStep.version == version)
        .order_by(SigningChainStep.position)
    ).all()
    return [Step(r.position, r.who, r.title_vi, r.parallel, r.optional, r.source) for r in rows]


def set_chain(session: Session, type_code: str, steps: Sequence[dict[str, Any]], actor: User) -> int:
    """A new version of a type's chain (system administrator only). An empty list means "no chain"."""
    if not actor.is_system_admin:
        raise PermissionDenied(
            "Chỉ quản trị hệ thống được sửa quy trình ký",
            "Only the system administrator may edit signing chains",
        )
    if session.get(DocumentType, type_code) is None:
        raise InvalidInput(f"Không có loại hồ sơ {type_code}", f"Unknown document type {type_code}")
    checked: list[Step] = []
    for i, raw in enumerate(steps, start=1):
        who = str(raw.get("who", ""))
        if who not in WHO:
            raise InvalidInput(
                f"Bước {i}: người ký không hợp lệ ({who}); chọn một trong: {', '.join(WHO)}",
                f"Step {i}: unknown signer {who!r}; one of {', '.join(WHO)}",
                code="bad_chain",
            )
        if who == "seal" and i != len(steps):
            raise InvalidInput(
                "Con dấu của trường phải là bước cuối",
                "The school seal must be the last step",
                code="bad_chain",
            )
        checked.append(
            Step(i, who, str(raw.get("title_vi") or "").strip()[:100] or WHO[who][0].upper() if who != "seal" else "",
                 bool(raw.get("parallel")), bool(raw.get("optional")), str(raw.get("source") or "")[:2000])
        )  # fmt: skip
    version = chain_version(session, type_code) + 1
    now = utcnow()
    for s in checked:
        session.add(
            SigningChainStep(
                type_code=type_code,
                version=version,
                position=s.position,
                who=s.who,
                title_vi=s.title_vi,
                parallel=s.parallel,
                optional=s.optional,
                source=s.source,
                created_at=now,
                created_by_id=actor.id,
            )  # fmt: skip
        )
    if (
        not checked
    ):  # "no chain" is a version too: one row would be needed to record it, so keep a marker step
        session.add(
            SigningChainStep(
                type_code=type_code,
                version=version,
                position=0,
                who="none",
                title_vi="",
                parallel=False,
                optional=True,
                source="",
                created_at=now,
                created_by_id=actor.id,
            )  # fmt: skip
        )
    record_event(
        session, "chain.edit", actor=actor,
        detail={"type": type_code, "version": version, "steps": [s.as_dict() for s in checked]},
    )  # fmt: skip
    return version


# --- resolving people ----------------------------------------------------------------------------------------------
def principals_of(session: Session, school_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == "hieu_truong",
                RoleAssignment.organisation_id == school_id,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        ).all()
    )


def resolve(session: Session, doc: Document, who: str) -> list[tuple[User, str]]:
    """The people a step asks for this document, with the subject each teaches (subject teachers only)."""
    if who == "uploader":
        return [(doc.created_by, "")] if doc.created_by is not None else []
    if who == "subject_teachers":
        return subject_teachers_of(session, doc.school_id, doc.school_year, doc.class_name)
    if who == "homeroom":
        return [(u, "") for u in homeroom_of(session, doc.school_id, doc.school_year, doc.class_name)]
    if who == "group_head":
        return [(u, "") for u in group_heads_of(session, doc.school_id, doc.school_year, doc.created_by_id)]
    if who == "principal":
        return [(u, "") for u in principals_of(session, doc.school_id)]
    if who == "requester":
        requester = session.scalar(
            select(User)
            .join(CorrectionRequest, CorrectionRequest.requested_by_id == User.id)
            .where(CorrectionRequest.record_document_id == doc.id)
        )
        return [(requester, "")] if requester is not None else []
    if who == "administrator":
        return [(u, "") for u in administrators_of(session, doc.school_id)]
    return []


# --- a document's chain --------------------------------------------------------------------------------------------
def current_round(session: Session, doc_id: str) -> int:
    return int(
        session.scalar(select(func.max(SigningRequest.round)).where(SigningRequest.document_id == doc_id))
        or 0
    )


def requests_of(session: Session, doc_id: str, round_: int | None = None) -> list[SigningRequest]:
    round_ = current_round(session, doc_id) if round_ is None else round_
    return list(
        session.scalars(
            select(SigningRequest)
            .where(SigningRequest.document_id == doc_id, SigningRequest.round == round_)
            .order_by(SigningRequest.position, SigningRequest.id)
        ).all()
    )


def open_chain(session: Session, doc: Document, actor: User | None = None) -> list[SigningRequest]:
    """Start (or restart) the document's chain; returns the rows now waiting (to notify). No chain: []."""
    steps = [s for s in steps_of(session, doc.type_code) if s.who in WHO]
    if not steps:
        return []
    version = chain_version(session, doc.type_code)
    previous = current_round(session, doc.id)
    for row in requests_of(session, doc.id, previous) if previous else []:
        if row.status in ACTIVE:
            row.status = "cancelled"
    round_ = previous + 1
    for s in steps:
        people = resolve(session, doc, s.who) if s.who != "seal" else []
        if not people and (s.optional and s.who != "seal"):
            continue
        if s.who == "seal" or not people:
            # the seal is applied by whoever holds document.seal; an unassigned step waits for its person
            session.add(_row(doc, version, round_, s, None, ""))
            continue
        for person, subject in people if s.parallel else people[:1]:
            session.add(_row(doc, version, round_, s, person, subject))
    session.flush()
    opened = _open_next(session, doc, round_)
    write_state(session, doc.id, round_)
    record_event(
        session, "chain.open", actor=actor, document_id=doc.id, organisation_id=doc.school_id,
        detail={"round": round_, "chain_version": version, "waiting": [describe(r) for r in opened]},
    )  # fmt: skip
    return opened


def _row(
    doc: Document, version: int, round_: int, s: Step, person: User | None, subject: str
) -> SigningRequest:
    return SigningRequest(
        document_id=doc.id, chain_version=version, round=round_, position=s.position, who=s.who,
        title_vi=s.title_vi, subject=subject[:100], user_id=person.id if person else None, status="pending",
        field_name="", box="", note="",
    )  # fmt: skip


def _open_next(session: Session, doc: Document, round_: int) -> list[SigningRequest]:
    """Mark the first unfinished step's rows waiting; returns them ([] when the chain is complete)."""
    rows = requests_of(session, doc.id, round_)
    for position in sorted({r.position for r in rows}):
        step = [r for r in rows if r.position == position]
        if all(r.status == "signed" for r in step):
            continue
        now = utcnow()
        for r in step:
            if r.status == "pending":
                r.status = "waiting"
                r.opened_at = now
            if r.user_id is None and r.who != "seal":
                _assign(session, doc, r)
        return [r for r in step if r.status == "waiting"]
    return []


def _assign(session: Session, doc: Document, row: SigningRequest) -> None:
    """A step opened without its person (the class had no homeroom teacher yet …): look again."""
    people = resolve(session, doc, row.who)
    if people:
        row.user_id = people[0][0].id
        row.subject = people[0][1][:100]


@dataclass(frozen=True)
class ChainState:
    status: str  # none / waiting / complete / returned
    label_vi: str
    label_en: str
    waiting: list[dict[str, Any]]
    steps: list[dict[str, Any]]


def state_of(session: Session, doc: Document) -> ChainState:
    rows = requests_of(session, doc.id)
    if not rows:
        return ChainState("none", "", "", [], [])
    steps = [describe(r) for r in rows]
    if any(r.status == "returned" for r in rows):
        back = next(r for r in rows if r.status == "returned")
        return ChainState(
            "returned", "Bị trả lại", f"Returned: {back.note}", [], steps,
        )  # fmt: skip
    waiting = [r for r in rows if r.status == "waiting"]
    if not waiting:
        if all(r.status == "signed" for r in rows):
            return ChainState("complete", "Hoàn tất", "Complete", [], steps)
        return ChainState("none", "", "", [], steps)
    who = waiting[0].who
    return ChainState(
        "waiting", WAITING_VI[who], f"Waiting for {WHO[who][1]}", [describe(r) for r in waiting], steps
    )


def status_of(session: Session, doc_id: str) -> tuple[str, str]:
    """(status, Vietnamese label) of one document's chain."""
    return statuses_of(session, [doc_id])[doc_id]


def statuses_of(session: Session, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(status, Vietnamese label) for a page of documents: one query, whatever the page's length."""
    by_doc: dict[str, list[Any]] = {d: [] for d in doc_ids}
    if doc_ids:
        rows = session.execute(
            select(
                SigningRequest.document_id, SigningRequest.round, SigningRequest.status, SigningRequest.who
            )
            .where(SigningRequest.document_id.in_(set(doc_ids)))
            .order_by(SigningRequest.document_id, SigningRequest.round.desc(), SigningRequest.position)
        )
        for r in rows:
            by_doc[r.document_id].append(r)
    return {d: _status(rows) for d, rows in by_doc.items()}


def _status(rows: list[Any]) -> tuple[str, str]:
    if not rows:
        return "none", ""
    last = [r for r in rows if r.round == rows[0].round]
    if any(r.status == "returned" for r in last):
        return "returned", "Bị trả lại"
    waiting = [r for r in last if r.status == "waiting"]
    if waiting:
        return "waiting", WAITING_VI[waiting[0].who]
    if all(r.status == "signed" for r in last):
        return "complete", "Hoàn tất"
    return "none", ""


def turn_of(session: Session, doc: Document, user: User, *, seal: bool = False) -> str:
    """For pages: "no_chain", "mine" (may sign now), or the code `claim` would refuse with."""
    try:
        return "no_chain" if claim(session, doc, user, seal=seal) is None else "mine"
    except (Conflict, PermissionDenied) as exc:
        return exc.code


def describe(r: SigningRequest) -> dict[str, Any]:
    person = r.user.full_name or r.user.username if r.user is not None else None
    done_by = r.done_by.full_name or r.done_by.username if r.done_by is not None else None
    return {
        "id": r.id, "position": r.position, "who": r.who, "who_vi": WHO.get(r.who, (r.who, r.who))[0],
        "title_vi": r.title_vi, "subject": r.subject, "person": person,
        "username": r.user.username if r.user is not None else None, "status": r.status,
        "opened_at": r.opened_at.isoformat() if r.opened_at else None,
        "done_at": r.done_at.isoformat() if r.done_at else None, "done_by": done_by,
        "version": r.version_number, "note": r.note,
    }  # fmt: skip


def has_chain(session: Session, doc: Document) -> bool:
    return current_round(session, doc.id) > 0


def _may_take(session: Session, doc: Document, row: SigningRequest, user: User, seal: bool) -> bool:
    if row.who == "seal":
        return seal and permitted(session, user, "document.seal", doc.school)
    if seal:
        return False
    if row.user_id is None:
        _assign(session, doc, row)
    return row.user_id == user.id


def claim(session: Session, doc: Document, user: User, *, seal: bool = False) -> SigningRequest | None:
    """The waiting request this signature fulfils. None when the document has no chain (the plain rule applies).
    Raises 409 `signing_out_of_order` when it is not this person's turn, or the chain is complete."""
    if not has_chain(session, doc):
        return None
    rows = requests_of(session, doc.id)
    waiting = [r for r in rows if r.status == "waiting"]
    for r in waiting:
        if _may_take(session, doc, r, user, seal):
            return r
    described = [describe(r) for r in waiting]
    mine = [r for r in rows if r.status != "cancelled" and _may_take(session, doc, r, user, seal)]
    if not waiting:
        state = state_of(session, doc)
        raise OutOfOrder(
            f"Hồ sơ không chờ chữ ký nào ({state.label_vi or 'chưa mở quy trình ký'})",
            f"The record is not waiting for any signature ({state.label_en or 'no chain open'})",
            described,
        )
    names = ", ".join(_waiting_name(d) for d in described)
    if any(r.status == "signed" and r.done_by_id == user.id for r in rows) and not any(
        r.status == "pending" for r in mine
    ):
        raise OutOfOrder(
            f"Bạn đã ký hồ sơ này; đang chờ: {names}",
            f"You have already signed this record; waiting for: {names}",
            described,
        )
    if not mine and not seal:
        raise PermissionDenied(
            f"Bạn không có trong quy trình ký của hồ sơ này; đang chờ: {names}",
            f"You are not a signer of this record; waiting for: {names}",
            code="not_a_signer",
        )
    raise OutOfOrder(
        f"Chưa đến lượt ký; đang chờ: {names}",
        f"Not your turn to sign; waiting for: {names}",
        described,
    )


def _waiting_name(d: dict[str, Any]) -> str:
    who = d["who_vi"]
    return f"{who} ({d['person']})" if d.get("person") else who


def is_step_signer(session: Session, doc: Document, user: User) -> bool:
    """Is `user` named in an active row of the document's chain (a subject teacher may then sign the record)?"""
    return any(r.user_id == user.id and r.status in (*ACTIVE, "signed") for r in requests_of(session, doc.id))


def record_signed(
    session: Session, doc: Document, request_id: int, user: User, version_number: int
) -> tuple[list[SigningRequest], bool]:
    """After a signature of the chain is stored: its row is signed, the next step may open.
    Returns (rows newly waiting, chain complete)."""
    row = session.get(SigningRequest, request_id)
    if row is None or row.status != "waiting":
        raise Conflict(
            "Bước ký này đã được thực hiện",
            "This signing step is no longer waiting",
            code="signing_out_of_order",
        )
    row.status = "signed"
    row.done_at = utcnow()
    row.done_by_id = user.id
    row.version_number = version_number
    if row.user_id is None:
        row.user_id = user.id
    session.flush()
    opened = _open_next(session, doc, row.round)
    write_state(session, doc.id, row.round)
    complete = all(r.status == "signed" for r in requests_of(session, doc.id, row.round))
    record_event(
        session, "chain.step", actor=user, document_id=doc.id, organisation_id=doc.school_id,
        detail={"round": row.round, "position": row.position, "who": row.who, "version": version_number,
                "complete": complete, "waiting": [describe(r) for r in opened]},
    )  # fmt: skip
    return opened, complete


def return_record(session: Session, doc: Document, user: User, reason: str) -> SigningRequest:
    """A signer whose turn it is sends the record back to its uploader with a reason."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "Cần ghi lý do trả lại", "A reason is required to return a record", code="reason_required"
        )
    row = claim(session, doc, user, seal=permitted(session, user, "document.seal", doc.school))
    if row is None:
        raise Conflict("Hồ sơ này không có quy trình ký", "This record has no signing chain", code="no_chain")
    for r in requests_of(session, doc.id, row.round):
        if r.status in ACTIVE:
            r.status = "cancelled"
    row.status = "returned"
    row.done_at = utcnow()
    row.done_by_id = user.id
    row.note = reason[:1000]
    session.flush()
    write_state(session, doc.id, row.round)
    record_event(
        session, "chain.return", actor=user, document_id=doc.id, organisation_id=doc.school_id,
        detail={"round": row.round, "position": row.position, "who": row.who, "reason": row.note},
    )  # fmt: skip
    return row


def reassign_waiting(session: Session, doc: Document) -> list[SigningRequest]:
    """Look again for the people of the open step (who they are became known after the chain opened, as for a
    biên bản chỉnh sửa dữ liệu linked to its correction once filed); returns the rows waiting."""
    rows = [r for r in requests_of(session, doc.id) if r.status == "waiting"]
    for r in rows:
        if r.user_id is None and r.who != "seal":
            _assign(session, doc, r)
    if rows:
        session.flush()
        write_state(session, doc.id, rows[0].round)
    return rows


def write_state(session: Session, doc_id: str, round_: int) -> None:
    """The round's rows as they now stand, as a state record in every replica: `hoso catalog rebuild` puts the last
    one back (retention/state_replay.py), so a rebuilt catalog still knows who signed and whose turn it is."""
    current = requests_of(session, doc_id, round_)
    rows = [
        {
            "position": r.position,
            "who": r.who,
            "title_vi": r.title_vi,
            "subject": r.subject,
            "user": r.user.username if r.user is not None else None,
            "status": r.status,
            "opened_at": r.opened_at.isoformat() if r.opened_at else None,
            "done_at": r.done_at.isoformat() if r.done_at else None,
            "done_by": r.done_by.username if r.done_by is not None else None,
            "version": r.version_number,
            "note": r.note,
            "field_name": r.field_name,
            "box": r.box,
        }  # fmt: skip
        for r in current
    ]
    version = current[0].chain_version if current else 0
    write_record(
        session, "chain", {"document_id": doc_id, "round": round_, "chain_version": version, "rows": rows}
    )


# --- the inbox -----------------------------------------------------------------------------------------------------
def inbox(session: Session, user: User) -> list[tuple[SigningRequest, Document]]:
    """What waits for `user`, oldest first: rows asking for them, and seal steps of schools where they may seal."""
    rows = session.execute(
        select(SigningRequest, Document)
        .join(Document, Document.id == SigningRequest.document_id)
        .where(SigningRequest.status == "waiting", Document.status == "active")
        .where((SigningRequest.user_id == user.id) | (SigningRequest.who == "seal"))
        .order_by(SigningRequest.opened_at, SigningRequest.id)
    ).all()
    out: list[tuple[SigningRequest, Document]] = []
    for row, doc in rows:
        if row.who == "seal" and not permitted(session, user, "document.seal", doc.school):
            continue
        out.append((row, doc))
    return out


def signed_before(session: Session, doc_id: str, round_: int) -> list[dict[str, Any]]:
    return [describe(r) for r in requests_of(session, doc_id, round_) if r.status == "signed"]
