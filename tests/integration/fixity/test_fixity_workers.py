"""Several workers share one run on PostgreSQL without checking any copy twice (FOR UPDATE SKIP LOCKED claims),
and the scheduled full slice spreads the work over the period on a real catalog."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.context import Archive
from archive.models import ReplicaCopy, StoredObject
from hoso.bootstrap import build_archive
from retention.fixity import FixityReport, RunOptions, full_run, run_fixity
from retention.integrity_models import FixityRun
from tests.factories import folder_replicas, make_settings, memory_replicas


def add_objects(a: Archive, n: int, size: int, *, verified_at: list[datetime] | None = None) -> None:
    """Objects written to every store and tracked in the catalog (the bytes and rows ingest would make)."""
    with a.sessions() as s, s.begin():
        for i in range(n):
            data = os.urandom(size)
            sha = hashlib.sha256(data).hexdigest()
            key = f"content/{sha[:2]}/{sha}"
            for store in a.replicas.stores:
                store.put(key, io.BytesIO(data), sha)
            obj = StoredObject(key=key, sha256=sha, size=size, kind="content")
            s.add(obj)
            when = verified_at[i] if verified_at else datetime.now(UTC)
            for store in a.replicas.stores:
                s.add(
                    ReplicaCopy(
                        object=obj, store_url=store.url, state="ok", checked_at=when, verified_at=when
                    )
                )


@pytest.mark.postgres
def test_two_workers_split_one_run_without_double_work(tmp_path: Path, pg_url: str):
    settings = make_settings(tmp_path, database_url=pg_url, replicas=folder_replicas(tmp_path / "stores"))
    first = build_archive(settings, migrate=True)
    second = build_archive(settings)  # its own engine and connections, like another process
    try:
        add_objects(first, 80, 256 * 1024)
        with first.sessions() as s:
            all_ids = set(s.scalars(select(ReplicaCopy.id)))
        assert len(all_ids) == 240

        start = threading.Barrier(2)
        reports: dict[str, FixityReport] = {}

        def work(name: str, a: Archive) -> None:
            start.wait()
            reports[name] = full_run(a, slot="full:shared-test", batch_size=5, threads=2, retry_delay=0.01)

        threads = [threading.Thread(target=work, args=(n, a)) for n, a in (("w1", first), ("w2", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        one, two = reports["w1"].checked_copy_ids, reports["w2"].checked_copy_ids
        counts = Counter(one + two)
        assert set(counts) == all_ids, "some copies were not checked"
        assert max(counts.values()) == 1, "a copy was checked twice"
        assert one and two, "both workers should have taken part"
        assert reports["w1"].run_id == reports["w2"].run_id
        with first.sessions() as s:
            run = s.scalars(select(FixityRun).where(FixityRun.slot == "full:shared-test")).one()
            assert run.copies_checked == 240 and run.workers == 2 and run.claimed == 240
            assert run.bytes_checked == 240 * 256 * 1024
    finally:
        second.close()
        first.close()


def test_scheduled_slices_keep_every_copy_within_the_period(tmp_path: Path):
    """Daily slices over simulated months on a real catalog: nothing ever goes unverified for more than 90 days."""
    a = build_archive(
        make_settings(tmp_path, replicas=memory_replicas(), fixity_full_period_days=90), migrate=True
    )
    try:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        # 30 objects x 3 copies, half of them last verified in one burst 85 days before t0
        when = [t0 - timedelta(days=85)] * 15 + [t0 - timedelta(days=6 * i) for i in range(15)]
        add_objects(a, 30, 1024, verified_at=when)
        per_run = []
        for day in range(200):
            now = t0 + timedelta(days=day)
            report = run_fixity(a, RunOptions(kind="full", scope="slice", slot=f"sim:{day}"), now=now)
            per_run.append(report.copies_checked)
            with a.sessions() as s:
                oldest = s.scalar(select(func.min(ReplicaCopy.verified_at)))
            assert now - oldest <= timedelta(days=90), f"day {day}: a copy is overdue"
        assert per_run[0] >= 1
        assert sum(per_run[-90:]) <= 90 * 2  # about one full pass per period, not a full pass per day
        assert max(per_run[-60:]) <= 90 // 90 + 2
    finally:
        a.close()


@pytest.mark.postgres
def test_two_workers_share_one_slice_quota(tmp_path: Path, pg_url: str):
    settings = make_settings(tmp_path, database_url=pg_url, replicas=memory_replicas())
    first = build_archive(settings, migrate=True)
    second = build_archive(settings)
    try:
        old = datetime.now(UTC) - timedelta(days=30)
        add_objects(first, 60, 4096, verified_at=[old - timedelta(hours=i) for i in range(60)])
        start = threading.Barrier(2)
        reports: list[FixityReport] = []

        def work(a: Archive) -> None:
            start.wait()
            reports.append(
                run_fixity(a, RunOptions(kind="full", scope="slice", slot="full:quota-test", batch_size=1))
            )

        threads = [threading.Thread(target=work, args=(a,)) for a in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with first.sessions() as s:
            run = s.scalars(select(FixityRun).where(FixityRun.slot == "full:quota-test")).one()
        ids = reports[0].checked_copy_ids + reports[1].checked_copy_ids
        assert run.quota == 2  # 180 copies / 90 daily runs, nothing overdue
        assert len(ids) == len(set(ids)) == 2, "the quota is shared, not taken once per worker"
    finally:
        second.close()
        first.close()
