"""The WORM canary against S3 over HTTP (moto server), with and without Object Lock on the bucket."""

from __future__ import annotations

import boto3
import pytest

from retention.worm import PREFIX, check_store, check_worm
from storage.s3 import S3Store
from tests.factories import make_settings
from tests.s3server import start_moto_server, use_dummy_aws_credentials

pytestmark = pytest.mark.s3


@pytest.fixture
def endpoint(monkeypatch):
    use_dummy_aws_credentials(monkeypatch)
    url, stop = start_moto_server()
    yield url
    stop()


def bucket(endpoint: str, name: str, *, lock: bool) -> S3Store:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name, **({"ObjectLockEnabledForBucket": True} if lock else {}))
    return S3Store(f"s3://{name}/hoso?endpoint_url={endpoint}")


def test_object_lock_bucket_refuses_to_delete_the_canary_at_the_server(endpoint: str, tmp_path):
    store = bucket(endpoint, "worm-locked", lock=True)
    assert store.supports_object_lock
    results = check_worm(make_settings(tmp_path), [store])
    (r,) = results
    assert r.protected is True and r.server_checked, r.detail
    assert "AccessDenied" in r.detail
    assert r.key is not None and r.key in list(store.list(PREFIX))  # still there: nobody could delete it
    assert store.head(r.key).retain_until is not None


def test_bucket_without_object_lock_is_not_claimed_to_be_worm(endpoint: str):
    store = bucket(endpoint, "worm-plain", lock=False)
    r = check_store(store)
    assert r.protected is None and "no Object Lock" in r.detail
    assert list(store.list(PREFIX)) == []


def test_a_store_that_claims_object_lock_on_a_plain_bucket_is_caught(endpoint: str, tmp_path):
    """Misconfiguration: the URL forces object_lock=true on a bucket that has none. The canary must not pass."""
    bucket(endpoint, "worm-liar", lock=False)
    store = S3Store(f"s3://worm-liar?endpoint_url={endpoint}&object_lock=true")
    r = check_store(store)
    assert r.protected is False and "refused a retention date" in r.detail, r.detail
