"""Remote signing fixtures: a dev PKI made before the CSC simulator (which holds the people's keys like a CA's HSM),
and a school whose archive knows the simulator as a provider, with a homeroom teacher, a principal, another teacher
and the office, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.chain_models import SchoolClass
from archive.context import Archive
from archive.models import Organisation
from signing.devpki import ensure_dev_pki
from tests.csc_simulator import CscSimulator
from tests.factories import add_person, dev_pki_archive
from tests.integration.signer_agent.remote_kit import PROVIDER, YEAR
from tests.processes import free_port


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory, base = tmp_path_factory.mktemp("pki") / "dev-pki", f"http://127.0.0.1:{free_port()}"
    ensure_dev_pki(directory, base)  # before the simulator: it holds the people's keys like a CA's HSM
    return directory, base


@pytest.fixture
def sim(pki_dir: tuple[Path, str]) -> Iterator[CscSimulator]:
    s = CscSimulator(pki_dir[0], person="homeroom").start()
    yield s
    s.stop()


@pytest.fixture
def school(tmp_path: Path, pki_dir: tuple[Path, str], sim: CscSimulator, pg_url: str) -> Iterator[Archive]:
    provider = {"key": PROVIDER, "name": "SmartCA Thử", "base_url": sim.url, "client_id": sim.client_id,
                "client_secret": sim.client_secret}  # fmt: skip
    with dev_pki_archive(tmp_path, pki_dir, database_url=pg_url, remote_signing_providers=[provider]) as a:
        with a.sessions() as s, s.begin():
            cn = add_person(s, "gv.cn", ("gvcn", "T01"), home="T01", full_name="Đỗ Thị Chủ Nhiệm (TEST)")
            add_person(s, "ht", ("hieu_truong", "T01"), home="T01", full_name="Nguyễn Văn Mẫu (TEST)")
            add_person(s, "gv.khac", ("gvbm", "T01"), home="T01", full_name="Người Khác")
            add_person(s, "vt", ("van_thu", "T01"), home="T01", full_name="Lê Thị Văn Thư")
            t01 = s.scalar(select(Organisation).where(Organisation.code == "T01"))
            s.add(SchoolClass(school_id=t01.id, school_year=YEAR, name="10A1", homeroom_id=cn.id))
        yield a
