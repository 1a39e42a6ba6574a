"""Fixtures for the storage contract suite: one `backend` per store kind, S3 over real HTTP on the moto server and on
Ceph RGW (the servers themselves are session fixtures of tests/s3fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.backends import ALL, LOCKING, Backend, make_backend


@pytest.fixture(params=ALL)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Every backend; S3 on each server twice (bucket root and under a key prefix). Each test gets a fresh store/bucket."""
    return make_backend(request.param, request, tmp_path)


@pytest.fixture(params=LOCKING)
def locking_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Backends that record retention/legal holds: memory, folder (advisory), S3 buckets with Object Lock (moto, RGW)."""
    return make_backend(request.param, request, tmp_path)
