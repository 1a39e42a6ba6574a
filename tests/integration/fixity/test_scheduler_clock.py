"""Workers on several hosts take their clock from the catalog (issue 15): a worker whose host clock is days off
still names the same fixity slot and claims the same day as its colleagues, on PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.context import Archive
from archive.db import db_now, utcnow
from retention import scheduler as sched
from retention.fixity import slot_name
from tests.integration.fixity.conftest import folder_archive, ingest_pdf

SKEW = timedelta(days=3, hours=5)  # more than a fixity interval and than a day


@pytest.fixture
def pg_archive(pg_url: str, tmp_path: Path) -> Iterator[Archive]:
    a = folder_archive(tmp_path, pg_url)
    yield a
    a.close()


def skew_host_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's clock runs SKEW ahead: every `utcnow` of our modules and datetime.now in the scheduler."""
    skewed = lambda: datetime.now(UTC) + SKEW  # noqa: E731
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("archive", "retention") and getattr(module, "utcnow", None) is utcnow:
            monkeypatch.setattr(module, "utcnow", skewed)

    class SkewedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + SKEW

    monkeypatch.setattr(sched, "datetime", SkewedDatetime)


def test_db_now_is_the_catalog_clock_even_when_the_host_clock_is_off(pg_archive, monkeypatch):
    skew_host_clock(monkeypatch)
    before = datetime.now(UTC)
    with pg_archive.sessions() as s:
        now = db_now(s)
    assert before - timedelta(minutes=1) < now < datetime.now(UTC) + timedelta(minutes=1)
    assert pg_archive.now().tzinfo is not None


def test_a_skewed_worker_claims_the_same_slot_and_day_as_the_others(pg_archive, tmp_path, monkeypatch):
    ingest_pdf(pg_archive, tmp_path)
    interval = timedelta(hours=pg_archive.settings.fixity_light_interval_hours)
    assert interval < SKEW
    before = slot_name("light", datetime.now(UTC), interval)
    with monkeypatch.context() as m:
        skew_host_clock(m)
        skewed = sched.job_fixity_light(pg_archive)
        assert sched.claim_job(pg_archive, "some-daily-job", sched.today(pg_archive).isoformat()) is True
    assert skewed.copies_checked > 0
    after = slot_name("light", datetime.now(UTC), interval)
    assert skewed.slot in {before, after}  # the catalog's slot (the host's is days later)
    # a colleague whose clock is right, in the same interval: the run is done already, the day is taken
    right = sched.job_fixity_light(pg_archive)
    assert right.run_id == skewed.run_id and right.copies_checked == 0
    assert sched.claim_job(pg_archive, "some-daily-job", sched.today(pg_archive).isoformat()) is False
