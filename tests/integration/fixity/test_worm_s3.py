"""The WORM canary against S3 over HTTP (moto server and Ceph RGW), with and without Object Lock on the bucket."""

from __future__ import annotations

import pytest

from retention.worm import PREFIX, check_store, check_worm
from storage.s3 import S3Store
from tests.contract.backends import new_bucket
from tests.factories import make_settings
from tests.s3fixtures import S3Server

pytestmark = pytest.mark.s3


def bucket(server: S3Server, *, lock: bool) -> S3Store:
    return S3Store(f"s3://{new_bucket(server.client, object_lock=lock)}/hoso?endpoint_url={server.endpoint}")


def test_object_lock_bucket_refuses_to_delete_the_canary_at_the_server(s3_server: S3Server, tmp_path):
    store = bucket(s3_server, lock=True)
    assert store.supports_object_lock
    results = check_worm(make_settings(tmp_path), [store])
    (r,) = results
    assert r.protected is True and r.server_checked, r.detail
    assert "AccessDenied" in r.detail
    assert r.key is not None and r.key in list(store.list(PREFIX))  # still there: nobody could delete it
    assert store.head(r.key).retain_until is not None


def test_bucket_without_object_lock_is_not_claimed_to_be_worm(s3_server: S3Server):
    store = bucket(s3_server, lock=False)
    r = check_store(store)
    assert r.protected is None and "no Object Lock" in r.detail
    assert list(store.list(PREFIX)) == []


def test_a_store_that_claims_object_lock_on_a_plain_bucket_is_caught(s3_server: S3Server, tmp_path):
    """Misconfiguration: the URL forces object_lock=true on a bucket that has none. The canary must not pass."""
    plain = bucket(s3_server, lock=False)
    store = S3Store(f"s3://{plain.bucket}?endpoint_url={s3_server.endpoint}&object_lock=true")
    r = check_store(store)
    assert r.protected is False and "refused a retention date" in r.detail, r.detail
