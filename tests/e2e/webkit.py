"""Helpers for the browser tests: the system Chromium driven by the playwright package, signing in and out, signing a
record from its page.

Chromium comes from Debian (/usr/bin/chromium); `playwright install` is never used (no internet). In CI a missing
browser is a failure, elsewhere the browser tests are skipped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
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


def sign_from_page(
    live: Any,
    page: Any,
    doc_url: str,
    username: str,
    password: str,
    key_label: str,
    tmp: Path,
    *,
    signer_name: str | None = None,
    at_preview: Callable[[Any], None] | None = None,
    at_session: Callable[[Any], None] | None = None,
) -> None:
    """The personal signing flow of a record's page as `username`: open a session, download the request, sign its digest
    with the person's dev PKI key `key_label` (`hoso sign-digest`), hand the signature in; the page must say it is
    valid. `signer_name`: the name the preview must show (from the account, never typed). The callbacks see the page
    at the preview and at the open session (screenshots)."""
    from tests.processes import run_cli

    login(page, live.base_url, username, password)
    page.goto(doc_url)
    page.locator("#ky-ca-nhan").click()
    page.wait_for_url(doc_url + "/ky-ca-nhan")
    if signer_name is not None:
        assert signer_name in page.locator("#xem-truoc-chu-ky").inner_text()
    if at_preview is not None:
        at_preview(page)
    page.locator("#mo-phien-ky").click()
    page.wait_for_url(doc_url + "/ky-ca-nhan/*")
    if at_session is not None:
        at_session(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải yêu cầu ký").click()
    request, signature = tmp / f"{username}-yeu-cau.json", tmp / f"{username}-chu-ky.json"
    info.value.save_as(str(request))
    p12 = Path(live.env["HOSO_DATA_DIR"]) / "dev-pki" / f"{key_label}.p12"
    run_cli("sign-digest", str(request), "--p12", str(p12), "--out", str(signature),
            env=live.env | {"HOSO_P12_PASSWORD": "hoso-dev-test"})  # fmt: skip
    page.set_input_files("#signature", str(signature))
    page.get_by_role("button", name="Nộp chữ ký").click()
    page.wait_for_selector(
        "#ket-qua-ky, #loi-ky, .error", timeout=240_000
    )  # signing + validating, under load
    assert page.locator("#loi-ky").count() == 0, page.locator("#loi-ky").inner_text()
    assert "Hợp lệ" in page.locator("#ket-qua-ky").inner_text()
    logout(page, live.base_url)
