"""The principal's countersignature on a biên bản kiểm tra định kỳ (issue 13): each sealed check record is filed as a
catalog document of type `bien-ban-kiem-tra-dinh-ky` under every school whose records the stores hold. Its signing
chain (archive/data/signing-chains.csv) has one step, the principal, so the record waits in the principal's inbox
("Chờ tôi ký") and is signed through the normal signing flow; the catalog keeps it under the retention schedule like
any record of the school.

One document per school, not one for the whole instance: a principal answers for their own school's archive, and
a chain resolves its principal from the document's school. The documents are found again by the sealed PDF's
SHA-256 (their first version), so the check record table needs no column for them.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import chains
from archive.context import Archive
from archive.errors import ArchiveError
from archive.events import record_event
from archive.ingest import ingest_stream
from archive.models import Document, Organisation, Version
from archive.school_year import current_school_year

from .rules import VN_TZ

TYPE = "bien-ban-kiem-tra-dinh-ky"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Countersignature:
    """Where one school's copy of a check record stands: `status` is the chain's (waiting / complete / returned)."""

    document_id: str
    school_code: str
    school_name: str
    status: str
    label_vi: str

    @property
    def signed(self) -> bool:
        return self.status == "complete"


def _vn(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(VN_TZ)


def schools_holding_records(session: Session) -> list[Organisation]:
    """Schools with at least one record of their own in the catalog (check records aside)."""
    held = select(Document.school_id).where(Document.type_code != TYPE).distinct()
    return list(
        session.scalars(select(Organisation).where(Organisation.id.in_(held)).order_by(Organisation.code))
    )


def file_for_principals(
    archive: Archive, *, record_id: int, pdf: bytes, start: datetime, end: datetime
) -> list[str]:
    """File the sealed PDF under each school holding records; returns the document ids. A school where filing is
    refused (its year locked for this type …) is skipped and the refusal recorded: the sealed record itself is
    already kept in every replica, so nothing of it is lost."""
    with archive.sessions() as session:
        schools = [(o.code, o.id) for o in schools_holding_records(session)]
    first, last = _vn(start), _vn(end)
    title = f"Biên bản kiểm tra định kỳ số {record_id} ({first:%d/%m/%Y} – {last:%d/%m/%Y})"
    filename = f"bien-ban-kiem-tra-{last:%Y%m%d}-{record_id}.pdf"
    year = current_school_year(last.date())
    ids = []
    for code, school_id in schools:
        try:
            result = ingest_stream(
                archive,
                io.BytesIO(pdf),
                filename=filename,
                school=code,
                type_code=TYPE,
                year=year,
                title=title,
            )
        except ArchiveError as exc:
            log.warning("check record %s not filed for %s: %s", record_id, code, exc)
            with archive.sessions() as session, session.begin():
                record_event(
                    session, "fixity.check_record_not_filed", actor_name="system", organisation_id=school_id, outcome="error",
                    detail={"record": record_id, "school": code, "error": getattr(exc, "code", "error")},
                )  # fmt: skip
            continue
        ids.append(result.document.id)
    return ids


def countersignatures(
    session: Session, sha256s: list[str], school_ids: list[int] | None = None
) -> dict[str, list[Countersignature]]:
    """For each check record (by its sealed PDF's SHA-256): its filed copies, limited to `school_ids` (None: all)."""
    if not sha256s:
        return {}
    query = (
        select(Version.sha256, Document, Organisation)
        .join(Document, Version.document_id == Document.id)
        .join(Organisation, Document.school_id == Organisation.id)
        .where(Document.type_code == TYPE, Version.sha256.in_(sha256s), Version.number == 1)
        .where(Document.status.not_in(("disposed", "withdrawn")))
        .order_by(Organisation.code)
    )
    if school_ids is not None:
        query = query.where(Document.school_id.in_(school_ids))
    out: dict[str, list[Countersignature]] = {}
    for sha, doc, org in session.execute(query):
        status, label = chains.status_of(session, doc.id)
        out.setdefault(sha, []).append(Countersignature(doc.id, org.code, org.name, status, label))
    return out
