"""S3 servers for the whole test session (a pytest plugin, loaded by tests/conftest.py): moto, and Ceph RGW started
once per session (≈ 3 s) by scripts/ceph-rgw-start.sh.

`s3_server` runs a test once on each: moto (the AWS-like mock) and RGW (a real server that differs from AWS: it
enforces Object Lock but neither checks ChecksumSHA256 nor returns stored checksums). Without the Ceph packages the
RGW runs are skipped, except under CI=true, where they fail: `make test` installs them (scripts/system-deps.sh).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.s3server import rgw_missing, start_moto_server, start_rgw_server, use_dummy_aws_credentials


def s3_client_for(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


@dataclass(frozen=True)
class S3Server:
    kind: str  # "moto" or "rgw"
    endpoint: str
    client: Any  # a boto3 client on it, to arrange and to damage things behind the store's back


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 and a free port, for the whole session, with dummy AWS credentials."""
    with pytest.MonkeyPatch.context() as mp:
        use_dummy_aws_credentials(mp)
        endpoint, stop = start_moto_server()
        try:
            yield endpoint
        finally:
            stop()


@pytest.fixture(scope="session")
def rgw_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Ceph RGW on 127.0.0.1 and free ports, for the whole session; its S3 user has the dummy credentials."""
    reason = rgw_missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; run scripts/system-deps.sh test")
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as mp:
        use_dummy_aws_credentials(mp)
        endpoint, stop = start_rgw_server(tmp_path_factory.mktemp("ceph-rgw"))
        try:
            yield endpoint
        finally:
            stop()


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    """A boto3 client on the moto server."""
    return s3_client_for(moto_endpoint)


@pytest.fixture(scope="session")
def rgw_client(rgw_endpoint: str) -> Any:
    return s3_client_for(rgw_endpoint)


@pytest.fixture(params=["moto", pytest.param("rgw", marks=pytest.mark.rgw)])
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """The test runs once on moto and once on Ceph RGW."""
    if request.param == "rgw":
        return S3Server("rgw", request.getfixturevalue("rgw_endpoint"), request.getfixturevalue("rgw_client"))
    return S3Server("moto", request.getfixturevalue("moto_endpoint"), request.getfixturevalue("s3_client"))
