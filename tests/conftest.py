"""Shared fixtures: settings, catalogs on SQLite and on the real PostgreSQL server, sample files, a running server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from archive.context import Archive
from archive.settings import Settings
from hoso.bootstrap import build_archive

PG_ADMIN = os.environ.get("HOSO_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def memory_replicas(n: int = 3) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"memory://{tag}-{i}" for i in range(n)]


def folder_replicas(base: Path, n: int = 3) -> list[str]:
    return [f"file://{base / f'copy{i + 1}'}" for i in range(n)]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "replicas": memory_replicas(),
        "scheduler_enabled": False,
        # the dev PKI is served at the base URL when signing: a port of this test's own, never a shared 8000
        "base_url": f"http://127.0.0.1:{free_port()}",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_orgs(archive: Archive) -> None:
    from archive import orgs

    with archive.sessions() as s, s.begin():
        orgs.add_organisation(s, code="79", name="Sở GDĐT Thành phố Thử", kind="so")
        orgs.add_organisation(s, code="79-Q1", name="Phòng GDĐT Quận Một", kind="phong", parent_code="79")
        orgs.add_organisation(
            s,
            code="T01",
            name="Trường THPT Nguyễn Thị Minh Khai",
            kind="truong",
            level="THPT",
            parent_code="79",
        )
        orgs.add_organisation(
            s, code="C01", name="Trường THCS Lê Quý Đôn", kind="truong", level="THCS", parent_code="79-Q1"
        )


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """A migrated SQLite catalog over three memory replicas, with a Sở, a Phòng and two schools."""
    a = build_archive(make_settings(tmp_path), migrate=True)
    seed_orgs(a)
    yield a
    a.close()


# sample files ---------------------------------------------------------------------------------------------------
def make_pdf(
    path: Path, pages: int = 1, text: str = "Sổ theo dõi và đánh giá học sinh", extra: bytes = b""
) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = "Helvetica"
    noto = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
    if noto.exists():
        if "NotoSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("NotoSans", str(noto)))
        font = "NotoSans"
    c = canvas.Canvas(str(path), pagesize=A4)
    for i in range(pages):
        c.setFont(font, 14)
        c.drawString(72, 770, f"{text} — trang {i + 1}")
        if extra:
            c.drawString(72, 740, extra.hex()[:60])
        c.showPage()
    c.save()
    return path


@pytest.fixture
def sample_pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "Sổ theo dõi 10A1.pdf", pages=2, extra=uuid.uuid4().bytes)


# a running server -----------------------------------------------------------------------------------------------
class LiveServer:
    def __init__(self, base_url: str, env: dict[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
        self.base_url = base_url
        self.env = env
        self.proc = proc
        self.log = log

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env, check=check)

    def token(self, user: str = "admin") -> str:
        return self.cli("token", "create", "--user", user).stdout.strip().splitlines()[-1]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


def cli_env(settings_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSO_")}
    env.update(settings_env)
    return env


def run_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "hoso.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hoso {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def start_server(env: dict[str, str], log: Path) -> LiveServer:
    port = free_port()
    out = open(log, "wb")  # noqa: SIM115 — the server process owns it until stop_server
    proc = subprocess.Popen(
        [sys.executable, "-m", "hoso.cli", "serve", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=out,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text(errors='replace')}")
        try:
            httpx.get(base + "/api/v1/health", timeout=2)
            return LiveServer(base, env, proc, log)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start:\n{log.read_text(errors='replace')}")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
