"""Fixtures for people/permissions/audit tests: a province with districts and schools, one person per role, an HTTP
client on the real app, and a real RFC 3161 TSA (certomancer's Animator on 127.0.0.1)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from archive.context import Archive
from tests.factories import make_archive, seed_world, seed_world_with_passwords
from tests.processes import free_port

# the test PKI configuration is kept in the repository (tests/pki), not read from where shared/ happens to be
SHARED_PKI = Path(__file__).resolve().parents[2] / "pki"


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    """A migrated catalog (SQLite and PostgreSQL) with a province, districts, schools and one person per role."""
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    yield a
    a.close()


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[Archive]:
    a = make_archive(tmp_path, seed=seed_world_with_passwords, cookie_secure=False)
    yield a
    a.close()


# --- a real TSA -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tsa:
    url: str
    root_cert: Path


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tsa]:
    """certomancer's Animator (a WSGI app) serving the shared test PKI; its TSA answers at /school/tsa/tsa."""
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from werkzeug.serving import make_server

    directory = tmp_path_factory.mktemp("people-pki")
    subprocess.run([sys.executable, str(SHARED_PKI / "gen_keys.py"), str(directory / "keys")], check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = yaml.safe_load((SHARED_PKI / "certomancer.yml").read_text(encoding="utf-8"))
    config["external-url-prefix"] = base
    (directory / "certomancer.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    cfg = CertomancerConfig.from_file(str(directory / "certomancer.yml"), key_search_dir=str(directory))
    arch = cfg.get_pki_arch("school")
    root = directory / "root.cert.der"
    root.write_bytes(arch.get_cert("root").dump())
    server = make_server(
        "127.0.0.1", port, Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Tsa(f"{base}/school/tsa/tsa", root)
    server.shutdown()
    shutil.rmtree(directory, ignore_errors=True)
