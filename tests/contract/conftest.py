"""Fixtures for the storage contract suite: one `backend` per store kind, S3 over real HTTP (moto server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.contract.backends import ALL, LOCKING, Backend, make_backend
from tests.s3server import start_moto_server, use_dummy_aws_credentials


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
def s3_client(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(params=ALL)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Every backend; S3 twice (bucket root and under a key prefix). Each test gets a fresh store/bucket."""
    return make_backend(request.param, request, tmp_path)


@pytest.fixture(params=LOCKING)
def locking_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Backends that record retention/legal holds: memory, folder (advisory), S3 bucket with Object Lock."""
    return make_backend(request.param, request, tmp_path)
