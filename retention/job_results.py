"""The last outcome of every scheduled job, shared by all workers through the catalog (one row per job).

Workers have no HTTP port; `/metrics` of any app process reads this table, so "did last night's WORM canary or lock
sync fail?" is answered wherever Prometheus scrapes. An APScheduler listener (installed by start_scheduler) records
each run's end; a job that raised is a failure, its exception's text kept (shortened) for the operator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, mapped_column

from archive.context import Archive
from archive.db import utcnow
from archive.models import Base

log = logging.getLogger("hoso.scheduler")


class JobResult(Base):
    __tablename__ = "job_results"
    job: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_finished_at: Mapped[datetime] = mapped_column()
    last_ok: Mapped[bool] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(String(500), default="")
    runs_ok: Mapped[int] = mapped_column(BigInteger, default=0)
    runs_failed: Mapped[int] = mapped_column(BigInteger, default=0)


@dataclass(frozen=True)
class JobOutcome:
    job: str
    last_finished_at: datetime
    last_ok: bool
    last_success_at: datetime | None
    last_error: str
    runs_ok: int
    runs_failed: int


def record_result(
    archive: Archive, job: str, ok: bool, error: str = "", *, now: datetime | None = None
) -> None:
    """Count one finished run of `job`. Two workers finishing at once both count: the row is locked for update."""
    now = now or utcnow()
    with archive.sessions() as s, s.begin():
        row = s.scalars(select(JobResult).where(JobResult.job == job).with_for_update()).one_or_none()
        if row is None:
            row = JobResult(job=job, runs_ok=0, runs_failed=0, last_error="")
            s.add(row)
        row.last_finished_at = now
        row.last_ok = ok
        if ok:
            row.last_success_at = now
            row.runs_ok += 1
        else:
            row.last_error = error[:500]
            row.runs_failed += 1


def job_outcomes(archive: Archive) -> list[JobOutcome]:
    with archive.sessions() as s:
        return [
            JobOutcome(
                r.job,
                r.last_finished_at,
                r.last_ok,
                r.last_success_at,
                r.last_error,
                r.runs_ok,
                r.runs_failed,
            )
            for r in s.scalars(select(JobResult).order_by(JobResult.job))
        ]


def install_listener(scheduler: Any, archive: Archive) -> None:
    """Record every executed or failed job of `scheduler` (missed runs are not runs)."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    def on_event(event: Any) -> None:
        error = "" if event.exception is None else f"{type(event.exception).__name__}: {event.exception}"
        try:
            record_result(archive, event.job_id, event.exception is None, error)
        except Exception:  # the catalog being down must not stop the scheduler; the next run records again
            log.exception("could not record the result of job %s", event.job_id)

    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
