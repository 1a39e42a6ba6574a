"""Fixtures for the end-to-end tests: a live server on a fresh catalog, and one real Chromium per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import boot
from tests.processes import LiveServer, stop_server


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
