from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, cli_env, start_server, stop_server


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = cli_env({"HOSO_DATA_DIR": str(tmp_path / "var"), "HOSO_SCHEDULER_ENABLED": "false", **extra})
    return env


def boot(tmp_path: Path, **extra: str) -> LiveServer:
    env = server_env(tmp_path, **extra)
    from tests.conftest import run_cli

    run_cli("db", "upgrade", env=env)
    run_cli("org", "add", "79", "--name", "Sở GDĐT Thử", "--kind", "so", env=env)
    run_cli(
        "org", "add", "T01", "--name", "Trường THPT Thử Nghiệm", "--kind", "truong", "--level", "THPT",
        "--parent", "79", env=env,
    )  # fmt: skip
    return start_server(env, tmp_path / "server.log")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = boot(tmp_path)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One real Chromium per test module (skipped, or failed under CI=true, when it is not installed)."""
    from tests.e2e.webkit import browser

    with browser() as b:
        yield b


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(accept_downloads=True, locale="vi-VN")
    p = context.new_page()
    p.set_default_timeout(60_000)  # signing at B-LTA calls the dev PKI's TSA and OCSP
    yield p
    context.close()
