"""The transfer sender registry: per receiving school, the partner (sending) schools whose transfer packages it
accepts, each by the SHA-256 of the certificate that seals its packages. A package is imported when its seal is
registered for the receiving school (or, for a one-off partner, matches the fingerprint the receiving office types,
as before); a registered sender's code must also be the code the package names, so a partner's seal cannot file
records in another school's name.

Registering a sender decides whose records enter the school's archive, so it takes the authority that closes the
school's years (`lock.manage`: principal, school administrator, system administrator); every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import Conflict, InvalidInput, NotFound
from archive.events import record_event
from archive.models import Organisation, User
from archive.permissions import authorize

from .transfer_sender_models import TransferSender

ACTION = "lock.manage"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Sender:
    id: int
    school_code: str
    school_name: str
    sender_code: str
    sender_name: str
    seal_sha256: str
    added_at: datetime
    added_by: str

    @classmethod
    def of(cls, row: TransferSender) -> Sender:
        return cls(
            row.id,
            row.school.code,
            row.school.name,
            row.sender_code,
            row.sender_name,
            row.seal_sha256,
            row.added_at,
            row.added_by,
        )


def fingerprint(value: str) -> str:
    """A seal fingerprint as typed (spaces, colons, upper case allowed) → 64 lower-case hex digits, or refused."""
    clean = re.sub(r"[\s:]", "", value or "").lower()
    if not _SHA256.match(clean):
        raise InvalidInput(
            "Mã con dấu phải là SHA-256 (64 chữ số hex)",
            "The seal fingerprint must be a SHA-256 (64 hex digits)",
            code="bad_fingerprint",
        )
    return clean


def _school(session: Session, code: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.code == code, Organisation.kind == "truong"))
    if org is None:
        raise NotFound(f"Không có trường {code}", f"No school {code}", code="school_not_found")
    return org


def _check(session: Session, actor: User | None, org: Organisation) -> None:
    if actor is not None:  # None: the server's operator on the command line
        authorize(session, session.merge(actor), ACTION, org)


def add_sender(
    session: Session, *, school: str, sender_code: str, sender_name: str, seal: str, actor: User | None
) -> Sender:
    org = _school(session, school)
    _check(session, actor, org)
    code, name, sha = sender_code.strip(), sender_name.strip(), fingerprint(seal)
    if not code or len(code) > 32 or len(name) > 300:
        raise InvalidInput(
            "Hãy nhập mã trường chuyển đi (tối đa 32 ký tự) và tên (tối đa 300 ký tự)",
            "Give the sending school's code (at most 32 characters) and name (at most 300)",
            code="bad_sender",
        )
    taken = session.scalar(
        select(TransferSender).where(TransferSender.school_id == org.id, TransferSender.seal_sha256 == sha)
    )
    if taken is not None:
        raise Conflict(
            f"Con dấu này đã được đăng ký cho trường {taken.sender_code}",
            f"This seal is already registered for {taken.sender_code}",
            code="sender_exists",
        )
    row = TransferSender(
        school_id=org.id, sender_code=code, sender_name=name, seal_sha256=sha,
        added_by=actor.username if actor is not None else "system",
    )  # fmt: skip
    row.school = org
    session.add(row)
    session.flush()
    record_event(
        session, "transfer.sender_add", actor=session.merge(actor) if actor else None,
        actor_name=None if actor else "system", organisation_id=org.id,
        detail={"sender": code, "name": name, "seal": sha},
    )  # fmt: skip
    return Sender.of(row)


def remove_sender(session: Session, *, sender_id: int, actor: User | None) -> Sender:
    row = session.get(TransferSender, sender_id)
    if row is None:
        raise NotFound(
            f"Không có trường chuyển đi số {sender_id}",
            f"No registered sender {sender_id}",
            code="sender_not_found",
        )
    _check(session, actor, row.school)
    gone = Sender.of(row)
    session.delete(row)
    record_event(
        session, "transfer.sender_remove", actor=session.merge(actor) if actor else None,
        actor_name=None if actor else "system", organisation_id=row.school_id,
        detail={"sender": gone.sender_code, "seal": gone.seal_sha256},
    )  # fmt: skip
    return gone


def list_senders(session: Session, school_ids: list[int] | None = None) -> list[Sender]:
    """Registered senders of the given receiving schools (None: every school), by school then sender."""
    query = (
        select(TransferSender)
        .join(Organisation, TransferSender.school_id == Organisation.id)
        .order_by(Organisation.code, TransferSender.sender_code, TransferSender.id)
    )
    if school_ids is not None:
        query = query.where(TransferSender.school_id.in_(school_ids))
    return [Sender.of(r) for r in session.scalars(query)]


def registered_sender(session: Session, school_id: int, seal_sha256: str) -> Sender | None:
    row = session.scalar(
        select(TransferSender).where(
            TransferSender.school_id == school_id, TransferSender.seal_sha256 == seal_sha256
        )
    )
    return Sender.of(row) if row is not None else None
