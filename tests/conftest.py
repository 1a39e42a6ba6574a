"""Shared fixtures: catalogs on SQLite and on the real PostgreSQL server, a sample file (built by tests/factories.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.context import Archive
from tests.factories import make_archive, make_pdf

pytest_plugins = ["tests.s3fixtures"]  # moto and Ceph RGW for the session; `s3_server` runs a test on both

PG_ADMIN = os.environ.get("HOSO_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:  # driver-specific errors: all mean "cannot use PostgreSQL"
        return str(exc)


@pytest.fixture(scope="session")
def pg_available() -> bool:
    reason = _pg_reachable()
    if reason is None:
        return True
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is unreachable in CI: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")
    return False


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"hoso_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """A migrated SQLite catalog over three memory replicas, with a Sở, a Phòng and two schools."""
    a = make_archive(tmp_path)
    yield a
    a.close()


# sample files ---------------------------------------------------------------------------------------------------
@pytest.fixture
def sample_pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "Sổ theo dõi 10A1.pdf", pages=2, extra=uuid.uuid4().bytes)
