"""Browser tests never pass silently in CI: without Chromium they fail there, and are skipped elsewhere."""

from __future__ import annotations

import pytest

from tests.e2e import webkit


def test_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(webkit.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        webkit.chromium_path()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        webkit.chromium_path()


def test_present_chromium_is_used(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(
        webkit.shutil, "which", lambda name: "/opt/x/chromium" if name == "chromium" else None
    )
    assert webkit.chromium_path() == "/opt/x/chromium"
