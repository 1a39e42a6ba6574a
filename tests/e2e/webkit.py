"""Helpers for the browser tests: the system Chromium driven by the playwright package, signing in and out.

Chromium comes from Debian (/usr/bin/chromium); `playwright install` is never used (no internet). In CI a missing
browser is a failure, elsewhere the browser tests are skipped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "chromium is not installed (apt-get install chromium): browser tests cannot run in CI"
            )
        pytest.skip("chromium is not installed")
    return path


@contextmanager
def browser() -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def login(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/")
    assert page.url.endswith("/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/ho-so")


def logout(page: Any, base_url: str) -> None:
    page.locator(
        "header #dang-xuat"
    ).click()  # the header's button (the account page lists "Đăng xuất phiên này")
    page.wait_for_url(base_url + "/dang-nhap?da_dang_xuat=1")
