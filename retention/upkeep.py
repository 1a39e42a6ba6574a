"""Long-term signature upkeep: keep B-LTA documents verifiable by adding a fresh document timestamp before the newest
timestamp's certificate expires or its algorithm stops being approved (margin: `lta_renewal_margin_days`).

retention/ never imports signing/: the entry point injects two callables
  inspect(pdf_bytes) -> (expires_at | None, algorithm | None)   newest document timestamp's cert expiry and digest
  renew(pdf_bytes) -> bytes                                      the same PDF plus a new document timestamp
and this module decides (pure `renewal_decision`), claims, and stores the result as a new immutable version the same
way ingest does: verified copies first, then the version row, manifest and event in one transaction.

What `inspect` said is cached per version in `signature_upkeep`, so a day's run reads only new versions' PDFs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from archive.context import Archive
from archive.errors import ArchiveError
from archive.events import record_event
from archive.ingest import add_version
from archive.models import Document, Version
from storage import StorageError, content_key

from .alerts import send_alert
from .integrity_models import SignatureUpkeep

log = logging.getLogger("hoso.upkeep")

Inspect = Callable[[bytes], tuple[datetime | None, str | None]]
Renew = Callable[[bytes], bytes]
PDF = "application/pdf"

# Thông tư 15/2025/TT-BKHCN: SHA-256/384/512 or SHA-3. Anything else (SHA-1, MD5, SHA-224, unknown) is renewed.
_APPROVED = re.compile(r"sha(256|384|512|3256|3384|3512)")
_WEAK = re.compile(r"md[245]|sha1(?!\d)|sha224")


def algorithm_approved(name: str) -> bool:
    n = re.sub(r"[\s_\-/]", "", name.lower())
    return bool(_APPROVED.search(n)) and not _WEAK.search(n)


@dataclass(frozen=True)
class RenewalDecision:
    due: bool
    reason: str
    late: bool = False  # the timestamp already expired: a renewal now no longer proves the earlier state


def renewal_decision(
    expires_at: datetime | None, algorithm: str | None, *, now: datetime, margin: timedelta
) -> RenewalDecision:
    """Whether a document whose newest timestamp has this expiry and algorithm needs a fresh timestamp `now`."""
    if expires_at is None and algorithm is None:
        return RenewalDecision(False, "no document timestamp (not B-LTA)")
    if algorithm is not None and not algorithm_approved(algorithm):
        return RenewalDecision(True, f"algorithm {algorithm} is no longer approved")
    if expires_at is None:
        return RenewalDecision(True, "timestamp certificate expiry unknown")
    if expires_at <= now:
        return RenewalDecision(True, f"timestamp certificate expired {expires_at.isoformat()}", late=True)
    if expires_at - margin <= now:
        return RenewalDecision(
            True, f"timestamp certificate expires {expires_at.isoformat()} (within the margin)"
        )
    return RenewalDecision(
        False, f"valid until {expires_at.isoformat()}; renew after {(expires_at - margin).date()}"
    )


@dataclass(frozen=True)
class Renewal:
    document_id: str
    old_version: int
    new_version: int | None
    reason: str
    late: bool
    old_expires_at: datetime | None
    new_expires_at: datetime | None
    error: str | None = None


@dataclass(frozen=True)
class UpkeepReport:
    inspected: int
    due: int
    renewed: tuple[Renewal, ...]
    failed: tuple[Renewal, ...]
    skipped: int  # claimed by another worker, or no longer the current version


def renew_due_signatures(
    archive: Archive, *, inspect: Inspect, renew: Renew, now: datetime | None = None, limit: int = 500
) -> UpkeepReport:
    now = now or archive.now()  # the catalog's clock, whichever host the worker runs on
    margin = timedelta(days=archive.settings.lta_renewal_margin_days)
    inspected = inspect_new_versions(archive, inspect, now, limit)
    due = due_versions(archive, now, margin, limit)
    renewed: list[Renewal] = []
    failed: list[Renewal] = []
    skipped = 0
    for version_id, decision in due:
        try:
            outcome = renew_one(
                archive, version_id, decision, inspect=inspect, renew=renew, now=now, margin=margin
            )
        except ArchiveError as exc:  # one record that cannot take its new version must not stop the others
            outcome = _failed_unexpectedly(archive, version_id, decision, exc)
        if outcome is None:
            skipped += 1
        elif outcome.error:
            failed.append(outcome)
        else:
            renewed.append(outcome)
    report = UpkeepReport(inspected, len(due), tuple(renewed), tuple(failed), skipped)
    problems = [*failed, *(r for r in renewed if r.late)]
    if problems:
        body = "\n".join(f"- {r.document_id} v{r.old_version}: {r.error or r.reason}" for r in problems)
        send_alert(archive.settings, "Gia hạn chữ ký số dài hạn có vấn đề / LTA upkeep problems", body)
    return report


def read_verified(archive: Archive, sha256: str) -> bytes:
    _, chunks = archive.replicas.open_verified(content_key(sha256), sha256)
    return b"".join(chunks)


def _latest_versions() -> Any:
    return (
        select(Version.document_id, func.max(Version.number).label("n"))
        .group_by(Version.document_id)
        .subquery()
    )


def inspect_new_versions(archive: Archive, inspect: Inspect, now: datetime, limit: int) -> int:
    """Inspect current signed PDF versions not inspected yet, and remember what inspect() said."""
    with archive.sessions() as s:
        latest = _latest_versions()
        rows = s.execute(
            select(Version.id, Version.sha256)
            .join(latest, (latest.c.document_id == Version.document_id) & (latest.c.n == Version.number))
            .join(Document, Document.id == Version.document_id)
            .outerjoin(SignatureUpkeep, SignatureUpkeep.version_id == Version.id)
            .where(Version.signed.is_(True), Version.media_type == PDF, Document.status == "active")
            .where(SignatureUpkeep.version_id.is_(None))
            .limit(limit)
        ).all()
    count = 0
    for version_id, sha in rows:
        try:
            expires, algorithm = inspect(read_verified(archive, sha))
            detail = ""
        except Exception as exc:  # a signing or storage error for one file must not stop the others
            expires, algorithm, detail = None, None, f"inspect failed: {type(exc).__name__}: {exc}"[:1000]
            log.warning("could not inspect version %s: %s", version_id, detail)
        with archive.sessions() as s, s.begin():
            if s.get(SignatureUpkeep, version_id) is None:
                s.add(
                    SignatureUpkeep(
                        version_id=version_id, expires_at=expires, algorithm=algorithm, detail=detail
                    )
                )
        count += 1
    return count


def due_versions(
    archive: Archive, now: datetime, margin: timedelta, limit: int
) -> list[tuple[int, RenewalDecision]]:
    with archive.sessions() as s:
        rows = s.execute(
            select(SignatureUpkeep.version_id, SignatureUpkeep.expires_at, SignatureUpkeep.algorithm)
            .where(SignatureUpkeep.renewed_by_version_id.is_(None))
            .order_by(SignatureUpkeep.expires_at.asc().nulls_first())
        ).all()
    out = []
    for version_id, expires, algorithm in rows:
        decision = renewal_decision(expires, algorithm, now=now, margin=margin)
        if decision.due:
            out.append((version_id, decision))
    return out[:limit]


def _failed_unexpectedly(
    archive: Archive, version_id: int, decision: RenewalDecision, exc: ArchiveError
) -> Renewal:
    with archive.sessions() as s:
        old = s.get(Version, version_id)
        doc_id, number = (old.document_id, old.number) if old is not None else ("", 0)
    why = f"{exc.code}: {exc.message_en}"
    return _failed(archive, Renewal(doc_id, number, None, decision.reason, decision.late, None, None, why))


def renew_one(
    archive: Archive,
    version_id: int,
    decision: RenewalDecision,
    *,
    inspect: Inspect,
    renew: Renew,
    now: datetime,
    margin: timedelta,
) -> Renewal | None:
    """Renew one version; None if another worker holds the document or it is no longer current."""
    with archive.sessions() as s, s.begin():
        old = s.get(Version, version_id)
        if old is None:
            return None
        doc = s.execute(
            select(Document).where(Document.id == old.document_id).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if doc is None or doc.current is None or doc.current.id != version_id:
            return None
        row = s.get(SignatureUpkeep, version_id)
        old_expiry = row.expires_at if row else None

        def failure(why: str) -> Renewal:
            return Renewal(doc.id, old.number, None, decision.reason, decision.late, old_expiry, None, why)

        try:
            data = read_verified(archive, old.sha256)
            new = renew(data)
        except (
            Exception
        ) as exc:  # signing errors are not importable here; any failure is recorded and reported
            return _failed(archive, failure(f"{type(exc).__name__}: {exc}"))
        # a document timestamp is an incremental update: the earlier bytes (and signatures) must stay untouched
        if not new.startswith(data) or len(new) == len(data):
            return _failed(archive, failure("renewal did not append to the original PDF; refused"))
        new_expiry, new_alg = inspect(new)
        if renewal_decision(new_expiry, new_alg, now=now, margin=margin).due:
            return _failed(
                archive, failure(f"the new timestamp would still need renewal ({new_expiry}, {new_alg})")
            )
        sha = hashlib.sha256(new).hexdigest()
        try:
            results = archive.replicas.put_bytes(content_key(sha), new, sha)
        except StorageError as exc:
            return _failed(archive, failure(f"could not store the renewed copy: {exc}"))
        version = add_version(
            archive,
            s,
            doc,
            sha256=sha,
            size=len(new),
            media_type=old.media_type,
            filename=old.original_filename,
            page_count=old.page_count,
            signed=True,
            validation=archive.signing.validate(new) if archive.signing is not None else None,
            reason="Gia hạn dấu thời gian lưu trữ dài hạn / LTA timestamp renewal",
            actor=None,
            content_results=results,
            event="signature.lta_renewal",
            appends=True,  # checked above: the renewal only appends a document timestamp
            event_detail={
                "previous_version": old.number,
                "reason": decision.reason,
                "late": decision.late,
                "previous_expires_at": old_expiry.isoformat() if old_expiry else None,
                "expires_at": new_expiry.isoformat() if new_expiry else None,
                "algorithm": new_alg,
            },
        )
        if row is not None:
            row.renewed_by_version_id = version.id
        s.add(
            SignatureUpkeep(version_id=version.id, expires_at=new_expiry, algorithm=new_alg, inspected_at=now)
        )
        return Renewal(
            doc.id, old.number, version.number, decision.reason, decision.late, old_expiry, new_expiry
        )


def _failed(archive: Archive, renewal: Renewal) -> Renewal:
    with archive.sessions() as s, s.begin():
        record_event(
            s,
            "signature.lta_renewal",
            actor_name="system",
            document_id=renewal.document_id,
            outcome="error",
            detail={"version": renewal.old_version, "reason": renewal.reason, "error": renewal.error},
        )
    return renewal
