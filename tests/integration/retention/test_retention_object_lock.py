"""Object Lock follows the schedule and our holds on S3 over HTTP (moto and Ceph RGW): dates only go up, holds on
and off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from archive.accounts import get_user
from archive.manifests import manifest_key
from retention.holds import place_hold, release_hold, sync_object_locks
from retention.schedules import confirm_rule
from storage import content_key
from tests.contract.backends import new_bucket
from tests.factories import make_archive, memory_replicas
from tests.s3fixtures import S3Server

from .conftest import ingest_pdf

pytestmark = pytest.mark.s3


@pytest.fixture
def locked_archive(s3_server: S3Server, tmp_path: Path):
    bucket = new_bucket(s3_server.client, object_lock=True)
    s3_url = f"s3://{bucket}/archive?endpoint_url={s3_server.endpoint}"
    a = make_archive(tmp_path, replicas=[s3_url, *memory_replicas(2)])
    yield a, a.replicas.store(s3_url)
    a.close()


def test_retention_follows_the_schedule_and_never_goes_down(locked_archive, tmp_path: Path):
    a, s3 = locked_archive
    assert s3.supports_object_lock
    dated = ingest_pdf(a, tmp_path, year="2023-2024")  # THPT logbook: 5 years → disposable 1/1/2030
    open_ended = ingest_pdf(a, tmp_path, type_code="hoc-ba", year="2023-2024")  # unverified: rolling lock
    now = datetime.now(UTC)
    report = sync_object_locks(a, today=date.today(), now=now)
    assert not report.errors and report.retention_set >= 4
    key = content_key(dated.version.sha256)
    assert s3.head(key).retain_until == datetime(2029, 12, 31, 17, 0, tzinfo=UTC)  # 1/1/2030 00:00 +07:00
    assert s3.head(manifest_key(dated.document.id, 1)).retain_until == datetime(
        2029, 12, 31, 17, 0, tzinfo=UTC
    )
    rolling = s3.head(content_key(open_ended.version.sha256)).retain_until
    assert rolling is not None and rolling >= now + timedelta(days=399)
    # a second run has nothing to do (no request per object per day)
    assert sync_object_locks(a, today=date.today(), now=now).retention_set == 0

    # the row is confirmed shorter than the lock already set: the lock stays, hoso does not even try to lower it
    with a.sessions() as s, s.begin():
        confirm_rule(
            s,
            type_code="hoc-ba",
            retention="1 years",
            source="test",
            user=get_user(s, "admin"),
            schedule="tt27-2016",
        )
    again = sync_object_locks(a, today=date.today(), now=now)
    assert not again.errors
    assert s3.head(content_key(open_ended.version.sha256)).retain_until == rolling


def test_holds_follow_ours_on_every_locked_copy(locked_archive, tmp_path: Path):
    a, s3 = locked_archive
    r = ingest_pdf(a, tmp_path)
    with a.sessions() as s:
        admin = get_user(s, "admin")
    held = place_hold(a, document_id=r.document.id, reason="inspection", reference="QĐ 3/TTr", user=admin)
    assert all(o.ok for o in held.stores)
    key = content_key(r.version.sha256)
    assert s3.head(key).legal_hold and s3.head(manifest_key(r.document.id, 1)).legal_hold
    # a hold lost on the store side (operator error) is put back by the lock job
    s3.set_legal_hold(key, False)
    report = sync_object_locks(a)
    # the record (2018-2019, five years) is overdue: no past retention date is sent (RGW, like AWS, refuses one)
    assert report.holds_on >= 1 and report.errors == (), report.errors
    assert s3.head(key).retain_until is None
    assert s3.head(key).legal_hold
    release_hold(a, hold_id=held.hold.id, user=admin)
    assert not s3.head(key).legal_hold
