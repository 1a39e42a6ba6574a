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

from archive import accounts, orgs
from archive.context import Archive
from hoso.bootstrap import build_archive
from tests.conftest import free_port, make_settings

# the test PKI configuration is kept in the repository (tests/pki), not read from where shared/ happens to be
SHARED_PKI = Path(__file__).resolve().parents[2] / "pki"
PASSWORD = "mat-khau-rat-dai-2025"

# code, name, kind, level, parent
ORGS = [
    ("79", "Sở GDĐT Thành phố Thử", "so", None, None),
    ("80", "Sở GDĐT Tỉnh Bên Cạnh", "so", None, None),
    ("79-Q1", "Phòng GDĐT Quận Một", "phong", None, "79"),
    ("79-Q2", "Phòng GDĐT Quận Hai", "phong", None, "79"),
    ("80-H1", "Phòng GDĐT Huyện Một", "phong", None, "80"),
    ("T01", "Trường THPT Nguyễn Thị Minh Khai", "truong", "THPT", "79"),
    ("X01", "Trường Phổ thông nhiều cấp Thử", "truong", "multi", "79"),
    ("C01", "Trường THCS Lê Quý Đôn", "truong", "THCS", "79-Q1"),
    ("G01", "Trung tâm GDTX Quận Một", "truong", "GDTX", "79-Q1"),
    ("M01", "Trường THCS-THPT Quận Một", "truong", "THCS,THPT", "79-Q1"),
    ("C02", "Trường THCS Quận Hai", "truong", "THCS", "79-Q2"),
    ("T80", "Trường THPT Tỉnh Bên Cạnh", "truong", "THPT", "80"),
    ("C80", "Trường THCS Huyện Một", "truong", "THCS", "80-H1"),
]

# username -> (role, organisation); every school role is held at C01
PEOPLE = {
    "quantri": ("school_admin", "C01"),
    "vanthu": ("van_thu", "C01"),
    "hieutruong": ("hieu_truong", "C01"),
    "phohieutruong": ("pho_hieu_truong", "C01"),
    "totruong": ("to_truong", "C01"),
    "gvcn": ("gvcn", "C01"),
    "gvbm": ("gvbm", "C01"),
    "thanhtraphong": ("inspector_phong", "79-Q1"),
    "thanhtraso": ("inspector_so", "79"),
}


def seed_world(a: Archive, *, passwords: bool = False) -> None:
    hashed = accounts.hash_password(PASSWORD) if passwords else None  # one argon2 run (~0.2 s), shared
    with a.sessions() as s, s.begin():
        for code, name, kind, level, parent in ORGS:
            orgs.add_organisation(s, code=code, name=name, kind=kind, level=level, parent_code=parent)
        for username, (role, org_code) in PEOPLE.items():
            org = orgs.get_organisation(s, org_code)
            u = accounts.create_user(
                s,
                username=username,
                full_name=username,
                organisation_id=org.id,
            )
            u.password_hash = hashed
            accounts.grant_role(s, u, role, org)
        accounts.get_user(s, "admin").password_hash = hashed


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    """A migrated catalog (SQLite and PostgreSQL) with a province, districts, schools and one person per role."""
    a = build_archive(make_settings(tmp_path, database_url=db_url), migrate=True)
    seed_world(a)
    yield a
    a.close()


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[Archive]:
    a = build_archive(make_settings(tmp_path, cookie_secure=False), migrate=True)
    seed_world(a, passwords=True)
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
