"""All scheduled jobs are registered here, in one place (see register_jobs).

Each job is a plain function of the Archive (also reachable as a `hoso` command). Several workers (and `hoso serve`)
may run the same schedule at once; that is safe because the work is claimed in the catalog, not in the scheduler:
- fixity runs are keyed by their interval slot (fixity_runs.slot) and copies are claimed FOR UPDATE SKIP LOCKED;
- once-a-day jobs (WORM canary, signature upkeep, metadata export) claim (job, day) in job_claims first, the weekly
  replica reconcile (job, ISO week).
Within one process, coalesce=True and max_instances=1 stop a slow run from stacking up behind itself.
Slots, days and what is due are judged by the catalog's clock (Archive.now), not the host's: workers on hosts whose
clocks disagree still name the same slot and the same day.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import signal
import socket
import threading
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from archive import chain_mail
from archive.context import Archive
from archive.db import db_now

from . import fixity, job_results, reconcile, upkeep, worm
from .integrity_models import JobClaim

log = logging.getLogger("hoso.scheduler")

TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # daily jobs run at night, school time
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


# ---- the jobs --------------------------------------------------------------------------------------------------------


def _interval(archive: Archive) -> timedelta:
    return timedelta(hours=archive.settings.fixity_light_interval_hours)


def job_fixity_light(archive: Archive) -> fixity.FixityReport:
    slot = fixity.slot_name("light", archive.now(), _interval(archive))
    return fixity.light_run(archive, slot=slot)


def job_fixity_full_slice(archive: Archive) -> fixity.FixityReport:
    slot = fixity.slot_name("full", archive.now(), _interval(archive))
    return fixity.full_slice(archive, slot=slot)


def job_worm_canary(archive: Archive) -> tuple[worm.WormResult, ...] | None:
    if not claim_job(archive, "worm-canary", today(archive).isoformat()):
        return None
    return worm.check_worm(archive.settings, archive.replicas.stores)


def job_signature_upkeep(archive: Archive) -> upkeep.UpkeepReport | None:
    if archive.signing is None:
        log.info("signature upkeep skipped: this process was built without signing")
        return None
    if not claim_job(archive, "signature-upkeep", today(archive).isoformat()):
        return None
    return upkeep.renew_due_signatures(
        archive, inspect=archive.signing.lta_inspect, renew=archive.signing.lta_renew
    )


def job_metadata_export(archive: Archive, day: date | None = None) -> Any:
    """Export the catalog metadata (XML, Thông tư 02/2019), if retention.backup exists. It is a snapshot of the whole
    catalog taken just after midnight, named by the (Vietnam) date it was taken, like export_metadata's own default."""
    try:
        backup = importlib.import_module("retention.backup")
    except ModuleNotFoundError as exc:
        if exc.name != "retention.backup":
            raise
        log.info("metadata export skipped: retention.backup is not installed")
        return None
    day = day or today(archive)
    if not claim_job(archive, "metadata-export", day.isoformat()):
        return None
    return backup.export_metadata(archive, day)


def job_audit_anchor(archive: Archive) -> Any:
    """Timestamp the audit trail's chain head and write it to every replica (tampering even by a database
    administrator then shows against the anchors)."""
    from archive.audit import anchor_chain_head

    if not claim_job(archive, "audit-anchor", today(archive).isoformat()):
        return None
    return anchor_chain_head(archive)


def job_object_lock_sync(archive: Archive) -> Any:
    """Keep Object Lock retention and legal holds of every copy in line with the schedule and our holds."""
    from . import holds

    if not any(s.supports_object_lock for s in archive.replicas.stores):
        return None
    if not claim_job(archive, "object-lock-sync", today(archive).isoformat()):
        return None
    return holds.sync_object_locks(archive)


def job_replica_reconcile(archive: Archive) -> reconcile.ReconcileReport | None:
    """Weekly: report orphan copies left by writes that never committed (a report; nothing is deleted). Claimed per
    ISO week, so one worker lists the stores once a week however many run."""
    year, week, _ = today(archive).isocalendar()
    if not claim_job(archive, "replica-reconcile", f"{year}-W{week:02d}"):
        return None
    return reconcile.reconcile(archive)


def job_signing_notify(archive: Archive) -> chain_mail.MailRun:
    """Tell the next signers that a step opened (every few minutes; a message that fails is retried next time)."""
    return chain_mail.notify_opened(archive)


def job_signing_digest(archive: Archive) -> chain_mail.MailRun | None:
    if not claim_job(archive, "signing-digest", today(archive).isoformat()):
        return None
    return chain_mail.daily_digest(archive)


def job_check_record(archive: Archive) -> Any:
    """Daily: the signed biên bản kiểm tra định kỳ, once a full-check period has passed since the last one."""
    from . import check_records

    if archive.signing is None or not claim_job(archive, "check-record", today(archive).isoformat()):
        return None
    return check_records.due_cycle_record(archive)


def job_media_reminder(archive: Archive) -> Any:
    """Daily: remind of offline media older than the renewal period (Thông tư 02/2019: 3 years)."""
    from . import media

    if not claim_job(archive, "media-reminder", today(archive).isoformat()):
        return None
    return media.remind_due_media(archive)


def today(archive: Archive) -> date:
    """The day in Vietnam by the catalog's clock: what once-a-day jobs are claimed by."""
    return archive.now().astimezone(TZ).date()


def claim_job(archive: Archive, job: str, slot: str) -> bool:
    """True for exactly one caller per (job, slot), across processes: the unique row decides."""
    try:
        with archive.sessions() as s, s.begin():
            worker = f"{socket.gethostname()}:{os.getpid()}"
            s.add(JobClaim(job=job, slot=slot, worker=worker, claimed_at=db_now(s)))
    except IntegrityError:
        log.info("%s for %s already claimed by another worker", job, slot)
        return False
    return True


# ---- registration --------------------------------------------------------------------------------------------------


def register_jobs(scheduler: BaseScheduler, archive: Archive) -> list[Job]:
    """Every scheduled job, in one place. Fixity starts soon after start-up (a restart inside a slot finds its run
    already done and does nothing); the daily jobs run at night, Vietnam time."""
    now = datetime.now(TZ)
    hours = archive.settings.fixity_light_interval_hours
    jitter = random.uniform(0, 30)  # workers started together do not all hit the stores in the same second

    def add(func: Any, trigger: Any, job_id: str, first: datetime | None = None) -> Job:
        extra = {"next_run_time": first} if first is not None else {}
        return scheduler.add_job(
            func,
            trigger,
            args=[archive],
            id=job_id,
            name=job_id,
            replace_existing=True,
            **JOB_DEFAULTS,
            **extra,
        )

    return [
        add(job_fixity_light, IntervalTrigger(hours=hours, timezone=TZ), "fixity-light", now + timedelta(seconds=10 + jitter)),
        add(job_fixity_full_slice, IntervalTrigger(hours=hours, timezone=TZ), "fixity-full-slice", now + timedelta(seconds=120 + jitter)),
        add(job_worm_canary, CronTrigger(hour=3, minute=15, timezone=TZ), "worm-canary"),
        add(job_signature_upkeep, CronTrigger(hour=2, minute=30, timezone=TZ), "signature-upkeep"),
        add(job_metadata_export, CronTrigger(hour=0, minute=30, timezone=TZ), "metadata-export"),
        add(job_audit_anchor, CronTrigger(hour=0, minute=45, timezone=TZ), "audit-anchor"),
        add(job_object_lock_sync, CronTrigger(hour=1, minute=15, timezone=TZ), "object-lock-sync"),
        add(job_signing_notify, IntervalTrigger(minutes=2, timezone=TZ), "signing-notify", now + timedelta(seconds=30 + jitter)),
        add(job_signing_digest, CronTrigger(hour=6, minute=30, timezone=TZ), "signing-digest"),
        add(job_replica_reconcile, CronTrigger(day_of_week="sun", hour=4, minute=0, timezone=TZ), "replica-reconcile"),
        add(job_check_record, CronTrigger(hour=5, minute=0, timezone=TZ), "check-record"),
        add(job_media_reminder, CronTrigger(hour=7, minute=0, timezone=TZ), "media-reminder"),
    ]  # fmt: skip


def start_scheduler(archive: Any) -> Any:
    """Start the background scheduler for `hoso serve`; returns an object with .shutdown(), or None."""
    scheduler = BackgroundScheduler(timezone=TZ, job_defaults=dict(JOB_DEFAULTS))
    register_jobs(scheduler, archive)
    job_results.install_listener(scheduler, archive)
    scheduler.start()
    return scheduler


def run_worker(archive: Archive, stop: threading.Event | None = None) -> None:
    """`hoso worker`: run the jobs until SIGTERM/SIGINT (or `stop` is set); running jobs finish before exit."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    scheduler = start_scheduler(archive)
    for job in scheduler.get_jobs():
        log.info("job %s: next run %s", job.id, job.next_run_time)
    print(f"hoso worker {os.getpid()}: {len(scheduler.get_jobs())} jobs scheduled", flush=True)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        print(f"hoso worker {os.getpid()}: stopped", flush=True)
