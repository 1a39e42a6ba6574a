"""Jobs registered in one place, run by APScheduler, safe with several workers; `hoso worker` starts and stops."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from archive.context import Archive
from retention import scheduler as sched
from retention.integrity_models import FixityRun
from tests.factories import hoso_env
from tests.processes import ROOT

JOBS = {
    "fixity-light", "fixity-full-slice", "worm-canary", "signature-upkeep", "metadata-export", "audit-anchor",
    "object-lock-sync", "replica-reconcile", "signing-notify", "signing-digest", "check-record", "media-reminder",
}  # fmt: skip


def test_every_job_is_registered_once_and_never_stacks(archive: Archive):
    scheduler = BackgroundScheduler(timezone=sched.TZ)
    scheduler.start(paused=True)  # a started job store (paused: nothing runs) applies replace_existing
    try:
        jobs = sched.register_jobs(scheduler, archive)
        assert {j.id for j in jobs} == JOBS == {j.id for j in scheduler.get_jobs()}
        for job in jobs:
            assert job.coalesce is True and job.max_instances == 1, job.id
        sched.register_jobs(scheduler, archive)  # registering again replaces, never duplicates
        assert len(scheduler.get_jobs()) == len(JOBS)
    finally:
        scheduler.shutdown(wait=False)


def test_the_running_scheduler_runs_fixity(archive: Archive, tmp_path: Path):
    from tests.integration.fixity.conftest import ingest_pdf

    ingest_pdf(archive, tmp_path)
    scheduler = sched.start_scheduler(archive)
    try:
        scheduler.get_job("fixity-light").modify(next_run_time=datetime.now(sched.TZ))
        deadline = time.time() + 20
        run = None
        while time.time() < deadline and run is None:
            with archive.sessions() as s:
                run = s.scalars(select(FixityRun).where(FixityRun.finished_at.is_not(None))).first()
            time.sleep(0.1)
        assert run is not None and run.kind == "light" and run.slot.startswith("light:")
        assert (
            run.copies_checked == 9
        )  # content, manifest and the signing chain's state record, 3 copies each
    finally:
        scheduler.shutdown()


def test_a_scheduled_light_run_is_done_once_per_slot(archive: Archive, tmp_path: Path):
    from tests.integration.fixity.conftest import COPIES_PER_UPLOAD, ingest_pdf

    ingest_pdf(archive, tmp_path)
    first = sched.job_fixity_light(archive)
    again = sched.job_fixity_light(archive)  # another worker (or a restart) in the same interval
    assert (
        first.copies_checked == COPIES_PER_UPLOAD
        and again.copies_checked == 0
        and again.run_id == first.run_id
    )


def test_daily_jobs_are_claimed_once_per_day(archive: Archive):
    assert sched.claim_job(archive, "some-job", "2026-11-28") is True
    assert sched.claim_job(archive, "some-job", "2026-11-28") is False
    assert sched.claim_job(archive, "some-job", "2026-11-29") is True
    assert sched.claim_job(archive, "other-job", "2026-11-28") is True
    results = sched.job_worm_canary(archive)
    assert results is not None and all(r.protected for r in results)  # memory stores honour retention
    assert sched.job_worm_canary(archive) is None  # second worker, same day


def test_metadata_export_runs_once_a_day_and_fixity_then_covers_it(archive: Archive, tmp_path: Path):
    from retention.fixity import full_run
    from tests.integration.fixity.conftest import ingest_pdf

    ingest_pdf(archive, tmp_path)
    result = sched.job_metadata_export(archive)
    assert result is not None and result.key.endswith(f"{sched.today(archive).isoformat()}.xml")
    assert sched.job_metadata_export(archive) is None  # a second worker the same day does nothing
    report = full_run(archive, retry_delay=0.01)
    assert (
        report.clean and report.objects_checked == 4
    )  # content, manifest, the chain's state record, the export


def test_metadata_export_is_skipped_while_retention_backup_is_missing(archive: Archive, monkeypatch):
    monkeypatch.setitem(sys.modules, "retention.backup", None)  # makes the import fail like a missing module
    try:
        assert sched.job_metadata_export(archive) is None
    except ImportError:
        raise AssertionError("a missing retention.backup must be skipped, not crash the job") from None


def test_signature_upkeep_needs_the_signing_functions(archive: Archive):
    archive.signing = None  # a process built without signing
    assert sched.job_signature_upkeep(archive) is None


def test_worker_command_starts_and_stops_cleanly(tmp_path: Path):
    env = hoso_env(tmp_path / "var")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hoso.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        deadline = time.time() + 30
        while "jobs scheduled" not in first and time.time() < deadline and proc.poll() is None:
            first = proc.stdout.readline()
        assert f"{len(JOBS)} jobs scheduled" in first
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
