"""The reconcile report in process: which keys count, which prefixes are left alone, stores down, the event, the job."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select

from archive.context import Archive
from archive.models import Event
from retention import scheduler as sched
from retention.backup import export_metadata
from retention.reconcile import GRACE, reconcile
from storage import content_key

from .conftest import folder_archive, ingest_pdf


def _put(a: Archive, key: str, data: bytes) -> None:
    sha = hashlib.sha256(data).hexdigest()
    for store in a.replicas.stores:
        store.put(key, io.BytesIO(data), sha)


def _age_all(a: Archive, seconds: float) -> None:
    when = time.time() - seconds
    for url in a.settings.replica_urls:
        for p in Path(url.removeprefix("file://")).rglob("*"):
            if p.is_file() and ".hoso-store" not in p.parts:
                os.utime(p, (when, when))


def test_only_unknown_content_and_manifests_past_the_grace_period_are_reported(tmp_path: Path, db_url: str):
    a = folder_archive(tmp_path, db_url)
    try:
        r = ingest_pdf(a, tmp_path)
        export = export_metadata(
            a, date(2026, 1, 5)
        )  # catalogued as kind "export", outside the listed prefixes
        stray = b"orphan bytes of a write that never committed"
        stray_key = content_key(hashlib.sha256(stray).hexdigest())
        _put(a, stray_key, stray)
        _put(a, "manifests/00000000-0000-0000-0000-000000000000/000001.json", b"{}")
        # tracked elsewhere or not at all: never orphans here
        _put(a, "_canary/worm/probe", b"canary")
        _put(a, "audit/anchors/2026-01-05-1.json", b"{}")
        _put(a, "exports/metadata/stray.xml", b"<x/>")
        # an export copy gone is fixity's business (and outside content/ and manifests/): not counted missing
        Path(a.settings.replica_urls[2].removeprefix("file://"), export.key).unlink()
        _age_all(a, GRACE.total_seconds() + 600)

        report = reconcile(a)
        assert report.catalog_objects == 2  # content + manifest; the export is not reconciled
        assert report.orphans == 6 and report.missing == 0
        for s in report.stores:
            assert [o.key for o in s.orphans] == [
                stray_key,
                "manifests/00000000-0000-0000-0000-000000000000/000001.json",
            ]
            assert s.orphans[0].size == len(stray) and s.orphans[1].size == 2
            assert s.orphans[0].age_seconds is not None and s.orphans[0].age_seconds > GRACE.total_seconds()
            assert content_key(r.version.sha256) not in {o.key for o in s.orphans}

        with a.sessions() as session:
            event = session.scalars(select(Event).where(Event.action == "replica.reconcile")).one()
        assert event.outcome == "warning" and event.detail["orphans"] == 6
        assert [st["orphans"] for st in event.detail["stores"]] == [2, 2, 2]
        assert event.detail["stores"][0]["orphan_keys"][0]["key"] == stray_key
    finally:
        a.close()


def test_a_store_that_cannot_be_listed_is_reported_and_the_others_still_reconciled(tmp_path: Path):
    a = folder_archive(tmp_path)
    try:
        ingest_pdf(a, tmp_path)
        _put(a, content_key("ab" * 32), b"not really that digest")  # a key the catalog does not know
        _age_all(a, GRACE.total_seconds() * 2)
        shutil.rmtree(a.settings.replica_urls[0].removeprefix("file://"))  # an unmounted disk
        report = reconcile(a)
        down, *up = report.stores
        assert down.error and "missing" in down.error and down.orphans == () and down.listed == 0
        assert [len(s.orphans) for s in up] == [1, 1] and all(s.error is None for s in up)
        assert all(s.missing == 0 for s in up)
    finally:
        a.close()


def test_a_clean_archive_reports_nothing_and_the_weekly_job_runs_once(tmp_path: Path, db_url: str):
    a = folder_archive(tmp_path, db_url)
    try:
        ingest_pdf(a, tmp_path)
        ingest_pdf(a, tmp_path, name="Học bạ 10A2.pdf")
        _age_all(a, GRACE.total_seconds() * 3)
        first = sched.job_replica_reconcile(a)
        assert first is not None and first.orphans == 0 and first.missing == 0
        assert first.catalog_objects == 4 and [s.listed for s in first.stores] == [4, 4, 4]
        assert sched.job_replica_reconcile(a) is None  # another worker, same week
        with a.sessions() as session:
            events = session.scalars(select(Event).where(Event.action == "replica.reconcile")).all()
        assert [e.outcome for e in events] == ["ok"]
    finally:
        a.close()
