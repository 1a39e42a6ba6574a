"""Telling people that a signature waits for them: one e-mail when a step opens (per person, gathering what opened
since the last run) and a daily digest of everything still waiting. Each message links to the page; it never carries
the file (Công văn 1370: records are handed over as attachments only to inspectors, through hoso's own packages)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import mail
from .chain_models import SigningRequest
from .chains import WHO, inbox
from .context import Archive
from .db import utcnow
from .models import Document, RoleAssignment, User
from .permissions import MATRIX

log = logging.getLogger("hoso.chain_mail")


@dataclass(frozen=True)
class MailRun:
    people: int
    items: int
    errors: tuple[str, ...] = ()


def _sealers(session: Session, school_id: int) -> list[User]:
    roles = [
        role for role, actions in MATRIX.items() if "document.seal" in actions and role != "system_admin"
    ]
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.organisation_id == school_id, RoleAssignment.role.in_(roles))
            .where(User.is_active.is_(True))
            .distinct()
        )
    )


def _line(base_url: str, row: SigningRequest, doc: Document) -> str:
    step = row.title_vi or WHO[row.who][0]
    subject = f" — {row.subject}" if row.subject else ""
    klass = f", lớp {doc.class_name}" if doc.class_name else ""
    return (
        f"- {doc.title} ({doc.school.name}{klass}, năm học {doc.school_year}): {step}{subject}\n"
        f"  {base_url.rstrip('/')}/ho-so/{doc.id}"
    )


def notify_opened(archive: Archive) -> MailRun:
    """E-mail each person the steps that opened for them and were not announced yet; rows are marked announced only
    when their message went out (or the person has no address), so an SMTP outage retries on the next run."""
    base = archive.settings.base_url
    sent_people, sent_items, errors = 0, 0, []
    with archive.sessions() as session, session.begin():
        rows = session.execute(
            select(SigningRequest, Document)
            .join(Document, Document.id == SigningRequest.document_id)
            .where(SigningRequest.status == "waiting", SigningRequest.notified_at.is_(None))
            .where(Document.status == "active")
            .order_by(SigningRequest.opened_at, SigningRequest.id)
        ).all()
        by_person: dict[int, list[tuple[SigningRequest, Document]]] = defaultdict(list)
        people: dict[int, User] = {}
        for row, doc in rows:
            asked = (
                _sealers(session, doc.school_id) if row.who == "seal" else ([row.user] if row.user else [])
            )
            for person in asked:
                people[person.id] = person
                by_person[person.id].append((row, doc))
        done: dict[int, bool] = {}
        for person_id, items in by_person.items():
            person = people[person_id]
            ok = True
            if person.email and mail.can_send(archive.settings):
                body = (
                    f"Kính gửi {person.full_name or person.username},\n\n"
                    f"Có {len(items)} hồ sơ đang chờ chữ ký số của thầy/cô:\n\n"
                    + "\n".join(_line(base, r, d) for r, d in items)
                    + f"\n\nXem tất cả: {base.rstrip('/')}/cho-toi-ky\n\n"
                    "Thư này chỉ chứa đường dẫn đến trang của hồ sơ; tệp không được gửi kèm.\n"
                    "(Records waiting for your signature; links only, never the files.)\n"
                )
                error = mail.send(
                    archive.settings, [person.email], f"{len(items)} hồ sơ chờ thầy/cô ký", body
                )
                if error is not None:
                    ok = False
                    errors.append(f"{person.username}: {error}")
                    log.warning("could not e-mail %s: %s", person.username, error)
                else:
                    sent_people += 1
                    sent_items += len(items)
            for row, _ in items:
                done[row.id] = done.get(row.id, True) and ok
        now = utcnow()
        for row, _ in rows:
            if done.get(row.id, True):  # nobody to tell (no address, no sealer) counts as told
                row.notified_at = now
    return MailRun(sent_people, sent_items, tuple(errors))


def daily_digest(archive: Archive) -> MailRun:
    """One message per person with everything still waiting for them, oldest first."""
    base = archive.settings.base_url
    sent_people, sent_items, errors = 0, 0, []
    if not mail.can_send(archive.settings):
        return MailRun(0, 0)
    with archive.sessions() as session:
        users = session.scalars(select(User).where(User.is_active.is_(True), User.email.is_not(None))).all()
        for person in users:
            items = inbox(session, person)
            if not items or not person.email:
                continue
            body = (
                f"Kính gửi {person.full_name or person.username},\n\n"
                f"Tổng hợp hằng ngày: {len(items)} hồ sơ vẫn đang chờ chữ ký số của thầy/cô (cũ nhất trước):\n\n"
                + "\n".join(_line(base, r, d) for r, d in items)
                + f"\n\nKý nhiều hồ sơ một lần: {base.rstrip('/')}/cho-toi-ky\n"
            )
            error = mail.send(archive.settings, [person.email], f"Tổng hợp: {len(items)} hồ sơ chờ ký", body)
            if error is not None:
                errors.append(f"{person.username}: {error}")
            else:
                sent_people += 1
                sent_items += len(items)
    return MailRun(sent_people, sent_items, tuple(errors))
